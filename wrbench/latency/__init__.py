"""Sampling-latency benchmarks: cases from component declarations, calibration, storage, comparison."""
