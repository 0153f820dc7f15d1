"""Typed component parameters: the public import path (the code lives in `wrbench.core.params`)."""
from wrbench.core.params import *  # noqa: F401,F403
from wrbench.core.params import __all__  # noqa: F401
