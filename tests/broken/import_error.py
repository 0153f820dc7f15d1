"""A plugin whose import fails."""
import wrbench_no_such_dependency  # noqa: F401
