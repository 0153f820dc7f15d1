"""docs/problems.md against the code: the arrays, shapes and view sizes it states are the ones the problems produce."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wrbench.core.plugins import load_plugins

DOC = (Path(__file__).parent.parent / "docs" / "problems.md").read_text()


@pytest.fixture(scope="module")
def registry():
    return load_plugins()


def test_power_control_arrays_views_and_helper_match_the_page(registry):
    problem = registry.get("problem", "power_control")({"n_pairs": 5, "k_neighbors": 2, "shadowing_db": 0.0})
    instances = problem.make_instances("test", 3, seed=0)
    exported = problem.export_instances(instances)
    assert {k: v.shape for k, v in exported.items()} == {"H": (3, 5, 5), "tx": (3, 5, 2), "rx": (3, 5, 2), "f_min": (3,)}
    for key in exported:
        assert f"`{key}`" in DOC
    assert problem.flat(instances).shape == (3, 5 * 5 + 1) and "(B, N·N + 1)" in DOC
    graph = problem.graph(instances)
    assert graph.x.shape == (3 * 5, 3) and graph.edge_index.shape[1] == 3 * 5 * (2 + 1)
    assert "N (k + 1) edges" in DOC and "Node features `x` (N, 3)" in DOC
    # H[j, i] is transmitter j -> receiver i: without shadowing, the gain falls with the distance tx_j to rx_i
    H, tx, rx = (instances.arrays[k].numpy() for k in ("H", "tx", "rx"))
    distance = np.linalg.norm(tx[:, :, None, :] - rx[:, None, :, :], axis=-1)  # [b, j, i] = |tx_j - rx_i|
    for b in range(3):
        order = np.argsort(distance[b].ravel())
        assert np.all(np.diff(H[b].ravel()[order]) <= 0)
        assert not np.all(np.diff(H[b].T.ravel()[order]) <= 0)  # the transpose reads it the wrong way
    G = problem.snr_gains(instances)
    assert float((G / H).std()) < 1e-9 * float((G / H).mean())  # one scale p_max / sigma2
    assert float((G / H).flatten()[0]) == pytest.approx(instances.attrs["p_max"] / instances.attrs["sigma2"])


def test_sum_rate_arrays_and_view_match_the_page(registry):
    problem = registry.get("problem", "sum_rate")({"channels": 4})
    instances = problem.make_instances("test", 3, seed=0)
    assert {k: v.shape for k, v in problem.export_instances(instances).items()} == {"g": (3, 4), "P": (3,)}
    assert "`g` (B, M)" in DOC and "`P` (B,)" in DOC
    assert problem.flat(instances).shape == (3, 4) and "(B, M) float" in DOC
