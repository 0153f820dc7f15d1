"""A plugin whose registration hook calls sys.exit."""
import sys

from wrbench import hookimpl

WRBENCH_API_VERSION = "1.0"


@hookimpl
def register_solvers(register):
    sys.exit(4)
