"""The plugin contract (components, instances, decision sets, contexts): the public import path (the code lives in `wrbench.core`)."""
from wrbench.core.api import *  # noqa: F401,F403
from wrbench.core.api import __all__ as _core
from wrbench.core.mixed import SelectionShares  # noqa: F401

__all__ = [*_core, "SelectionShares"]
