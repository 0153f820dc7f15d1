"""The plugin contract and what every subsystem shares: components, parameters, hooks, loading, small helpers.

Nothing here imports another wrbench subsystem (run, report, latency, devkit).
"""
