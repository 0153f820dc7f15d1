"""A plugin whose API version is not MAJOR.MINOR (the tests also patch it to "1" and 1)."""
from wrbench import hookimpl

WRBENCH_API_VERSION = "abc"


@hookimpl
def register_solvers(register):
    pass
