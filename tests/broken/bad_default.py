"""A plugin whose solver declares a default that JSON cannot write."""
from wrbench import hookimpl
from wrbench.api import Solver
from wrbench.params import Param

WRBENCH_API_VERSION = "1.0"


class OpaqueDefault(Solver):
    """A solver with an object() default."""

    name = "opaque_default"
    parameters = (Param("thing", object, object(), "not JSON"),)


@hookimpl
def register_solvers(register):
    register(OpaqueDefault)
