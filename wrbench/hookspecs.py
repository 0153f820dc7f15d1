"""The hooks a plugin implements (its `register` callback receives a `Register`): the public import path (the code lives in `wrbench.core.hookspecs`)."""
from wrbench.core.hookspecs import *  # noqa: F401,F403
from wrbench.core.hookspecs import __all__  # noqa: F401
