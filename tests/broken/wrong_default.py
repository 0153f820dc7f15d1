"""A plugin whose solver's default contradicts the parameter's own type."""
from wrbench import hookimpl
from wrbench.api import Solver
from wrbench.params import Param

WRBENCH_API_VERSION = "1.0"


class WrongDefault(Solver):
    """A solver whose int parameter defaults to a string."""

    name = "wrong_default"
    parameters = (Param("steps", int, "ten", "an int defaulting to a str"),)


@hookimpl
def register_solvers(register):
    register(WrongDefault)
