"""A plugin written for a future major API version."""
from wrbench import hookimpl

WRBENCH_API_VERSION = "2.0"


@hookimpl
def register_solvers(register):
    pass
