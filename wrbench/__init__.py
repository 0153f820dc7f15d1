"""wrbench: a plugin-based benchmark suite for wireless resource allocation solvers."""
from wrbench.core.hookspecs import API_VERSION, hookimpl

__version__ = "0.1.0"
__all__ = ["API_VERSION", "hookimpl", "__version__"]
