"""The plugin contract (components, instances, decision sets, contexts): the public import path (the code lives in `wrbench.core.api`)."""
from wrbench.core.api import *  # noqa: F401,F403
from wrbench.core.api import __all__  # noqa: F401
