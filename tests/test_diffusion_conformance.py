"""The conformance kit on every registered problem gdm and cfg support, one case per check, at their declared test_params."""
from __future__ import annotations

import pytest
from test_diffusion_toy import one_thread

from wrbench.testing import conformance_cases

__all__ = ["one_thread"]  # the shared fixture, imported to apply here too
CASES = [case for name in ("gdm", "cfg") for case in conformance_cases(name)]  # their own test_params


@pytest.mark.parametrize("check", CASES)
def test_conformant(check) -> None:
    check()
