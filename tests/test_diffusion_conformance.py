"""The harness's conformance kit on every registered problem gdm and cfg support (tiny budgets)."""
from __future__ import annotations

import pytest
from test_diffusion_toy import one_thread

from wrbench.testing import assert_conformant

__all__ = ["one_thread"]  # the shared fixture, imported to apply here too
TINY = {"train_steps": 3, "diffusion_steps": 10, "sample_steps": 3, "hidden": 8}


@pytest.mark.parametrize("name,extra", [("gdm", {"layers": 1}), ("cfg", {"depth": 1})])
def test_conformant(name: str, extra: dict) -> None:
    assert_conformant(name, params={**TINY, **extra})
