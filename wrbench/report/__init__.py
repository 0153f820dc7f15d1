"""Leaderboards from an output folder: aggregation, rendering, plots."""
