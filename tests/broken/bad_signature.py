"""A plugin whose hook takes an argument the spec does not have."""
from wrbench import hookimpl

WRBENCH_API_VERSION = "1.0"


@hookimpl
def register_solvers(register, extra):
    pass
