"""A plugin whose registration hook raises."""
from wrbench import hookimpl

WRBENCH_API_VERSION = "1.0"


@hookimpl
def register_problems(register):
    raise RuntimeError("registration failed on purpose")
