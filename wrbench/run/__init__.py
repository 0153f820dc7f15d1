"""A suite from YAML to results.jsonl: validation, plan, stages, artifacts, executors, the run loop."""
