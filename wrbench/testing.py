"""The conformance kit plugin authors run in their own tests: the public import path (the code lives in `wrbench.devkit.testing`)."""
from wrbench.devkit.testing import *  # noqa: F401,F403
from wrbench.devkit.testing import __all__  # noqa: F401
