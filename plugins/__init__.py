"""wrbench's bundled plugins, installed as `wrbench_plugins` and registered through entry points."""
