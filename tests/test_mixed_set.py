"""SelectionShares: binary selections plus shares among the selected, checked on hand-made decisions."""
from __future__ import annotations

import pytest
import torch

from wrbench.api import SelectionShares


def _x(*rows: list[float]) -> torch.Tensor:
    return torch.tensor([rows], dtype=torch.float64)  # (1, S, 2n)


def test_contains_accepts_exact_decisions_only() -> None:
    dset = SelectionShares(n=3, batch=1)
    x = _x([1, 0, 1, 0.4, 0, 0.6],  # valid
           [0, 0, 0, 0, 0, 0],  # nothing offloaded: valid
           [0.7, 0, 1, 0.4, 0, 0.6],  # D not binary
           [1, 0, 1, 0.4, 0.1, 0.5],  # a share to an unselected unit
           [1, 0, 1, 0.5, 0, 0.6],  # shares sum to 1.1
           [1, 0, 1, 1.2, 0, -0.2])  # a negative share
    assert dset.contains(x).tolist() == [[True, True, False, False, False, False]]


def test_project_rounds_and_renormalizes() -> None:
    dset = SelectionShares(n=3, batch=1)
    x = _x([0.9, 0.2, 0.51, 3.0, 7.0, 1.0], [0.6, 0.6, 0.1, -1.0, 0.0, 0.3], [0.4, 0.1, 0.2, 0.5, 0.5, 0.5])
    expected = _x([1, 0, 1, 0.75, 0, 0.25],  # weight 7 of the unselected unit dropped
                  [1, 1, 0, 0.5, 0.5, 0],  # no positive weight on the selection: equal shares
                  [0, 0, 0, 0, 0, 0])
    torch.testing.assert_close(dset.project(x), expected)
    assert dset.contains(dset.project(x)).all()
    torch.testing.assert_close(dset.from_unit(x), expected)
    torch.testing.assert_close(dset.from_unit(x, repair=False), x)


def test_unit_coordinates_are_the_decisions_and_violations_are_reported() -> None:
    dset = SelectionShares(n=2, batch=1)
    x = _x([1, 0, 1, 0], [1, 1, 0.3, 0.7])
    assert dset.unit_dim(4) == 4
    torch.testing.assert_close(dset.to_unit(x), x)
    torch.testing.assert_close(dset.from_unit(dset.to_unit(x)), x)
    u = _x([1.2, 0, 1, 0], [1, 0, 0.6, 0.3], [1, 0, 1, 0])
    violations = dset.unit_violations(u)
    assert violations["clamped"].any(-1).tolist() == [[True, False, False]]
    assert violations["renormalized"].tolist() == [[False, True, False]]


def test_uniform_covers_every_selection_and_stays_in_the_set() -> None:
    dset = SelectionShares(n=3, batch=2)
    x = dset.uniform(4000, 6, torch.Generator().manual_seed(0))
    assert x.shape == (2, 4000, 6) and dset.contains(x).all()
    codes = (x[..., :3] * torch.tensor([4.0, 2.0, 1.0], dtype=torch.float64)).sum(-1).long().flatten()
    counts = torch.bincount(codes, minlength=8).double()
    assert (counts / counts.sum() - 1 / 8).abs().max() < 0.02  # every D about equally likely


def test_wrong_size_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"2 \* 3 = 6 coordinates, got 5"):
        SelectionShares(n=3, batch=1).project(torch.zeros(1, 1, 5))


def _floored(floors: list[float]) -> SelectionShares:
    """A set whose selected units' floors are fixed numbers (inf: that unit's floor cannot be met)."""
    low = torch.tensor(floors, dtype=torch.float64)
    return SelectionShares(n=len(floors), batch=1, floors=lambda d: low.expand_as(d).clone())


def test_floors_decode_shares_above_them_by_hand() -> None:
    dset = _floored([0.2, 0.1, 0.3])
    # D = (1, 0, 1): floors 0.2 and 0.3 leave 0.5; weights (0.25, -, 0.75) of it -> F = (0.325, 0, 0.675)
    u = _x([1, 0, 1, 0.25, 0, 0.75], [1, 0, 1, 0, 0, 1], [1, 1, 1, 1, 1, 2])
    x = dset.from_unit(u)
    torch.testing.assert_close(x, _x([1, 0, 1, 0.325, 0, 0.675], [1, 0, 1, 0.2, 0, 0.8],
                                     [1, 1, 1, 0.2 + 0.4 / 4, 0.1 + 0.4 / 4, 0.3 + 0.4 / 2]))
    assert dset.contains(x).all() and (x[..., 3:] >= torch.tensor([0.2, 0.1, 0.3], dtype=torch.float64) * x[..., :3]).all()
    torch.testing.assert_close(dset.to_unit(x), dset.project(u))  # unit coordinates: the renormalized weights
    assert dset.unit_violations(u)["floors_dropped"].tolist() == [[False, False, False]]
    assert dset.unit_violations(u)["renormalized"].tolist() == [[False, False, True]]


def test_floors_that_do_not_fit_are_dropped_and_counted() -> None:
    dset = _floored([0.6, 0.5, float("inf")])
    u = _x([1, 1, 0, 0.5, 0.5, 0], [0, 0, 1, 0, 0, 1], [1, 0, 0, 1, 0, 0])
    # 0.6 + 0.5 >= 1 and an infinite floor: plain shares; a lone unit with floor 0.6 fits: it gets everything
    torch.testing.assert_close(dset.from_unit(u), _x([1, 1, 0, 0.5, 0.5, 0], [0, 0, 1, 0, 0, 1], [1, 0, 0, 1, 0, 0]))
    assert dset.unit_violations(u)["floors_dropped"].tolist() == [[True, True, False]]
    torch.testing.assert_close(SelectionShares(n=3, batch=1).from_unit(u), dset.from_unit(u))
