"""A variant of the toy problem that offers no views, to check unsupported pairs are skipped."""
from toy_plugin import Toy

from wrbench import hookimpl

WRBENCH_API_VERSION = "1.0"


class NoFlatToy(Toy):
    """The toy problem without a flat view."""

    name = "toy_noflat"
    views = frozenset()


@hookimpl
def register_problems(register):
    register(NoFlatToy)
