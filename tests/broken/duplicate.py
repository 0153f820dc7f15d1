"""A plugin registering a solver name the toy plugin already registers."""
from wrbench import hookimpl
from wrbench.api import Solver

WRBENCH_API_VERSION = "1.0"


class Half(Solver):
    name = "toy_half"


@hookimpl
def register_solvers(register):
    register(Half)
