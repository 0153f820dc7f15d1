"""Helpers for solvers that fit one torch network (standardization, training loop, saved state): the public
import path (the code lives in `wrbench.core.fitting`)."""
from wrbench.core.fitting import *  # noqa: F401,F403
from wrbench.core.fitting import __all__  # noqa: F401
