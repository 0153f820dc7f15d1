"""power_control's protocol options (issue 20): time-correlated fading, dominant re-pairing, gsd's evaluator variant."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from scipy.special import exp1, j0

from wrbench.api import Context
from wrbench.core.plugins import load_plugins
from wrbench.params import ParamError, resolve
from wrbench.run.suite import SuiteError, validate
from wrbench_plugins.power_control.fading import STEP_SECONDS, FadingModel
from wrbench_plugins.power_control.network import Geometry, distances
from wrbench_plugins.power_control.pairing import exchange, offended
from wrbench_plugins.power_control.problem import PowerControl
from wrbench_plugins.power_control.rates import slot_schedule


def _power_gains(model: FadingModel, links: int, steps: int, seed: int = 0) -> torch.Tensor:
    process = model.process((1, links, links), torch.Generator().manual_seed(seed), torch.float64, torch.device("cpu"))
    return process.steps(steps)[0].flatten(1)  # (steps, links^2)


def test_sum_of_sinusoids_has_unit_mean_power_and_the_jakes_autocorrelation():
    gains = _power_gains(FadingModel("jakes", doppler_hz=8.0, paths=25), links=150, steps=12)  # 22 500 links
    assert float(gains.mean()) == pytest.approx(1.0, abs=0.02)
    assert float(gains.var()) == pytest.approx(1.0 - 1.0 / 25, abs=0.05)  # E|h|^4 - 1 of a 25-path sum
    centred = gains - 1.0
    for lag in range(1, 9):
        measured = float((centred[:-lag] * centred[lag:]).mean() / centred.square().mean())
        expected = j0(2.0 * math.pi * 8.0 * lag * STEP_SECONDS) ** 2
        assert measured == pytest.approx(expected, abs=0.03), lag
    assert j0(2.0 * math.pi * 8.0 * STEP_SECONDS) ** 2 == pytest.approx(0.88, abs=0.005)  # the lag-1 figure


def test_iid_fading_has_no_memory_and_a_faster_doppler_decorrelates_sooner():
    iid = _power_gains(FadingModel("iid"), links=100, steps=3) - 1.0
    assert float((iid[:-1] * iid[1:]).mean()) == pytest.approx(0.0, abs=0.03)
    fast = _power_gains(FadingModel("jakes", doppler_hz=30.0, paths=25), links=100, steps=3) - 1.0
    expected = j0(2.0 * math.pi * 30.0 * STEP_SECONDS) ** 2
    assert float((fast[:-1] * fast[1:]).mean() / fast.square().mean()) == pytest.approx(expected, abs=0.04)


def test_same_seed_same_fading_and_every_policy_sees_the_same_fading():
    model = FadingModel("jakes")
    assert torch.equal(_power_gains(model, 6, 7, seed=3), _power_gains(model, 6, 7, seed=3))
    assert not torch.equal(_power_gains(model, 6, 7, seed=3), _power_gains(model, 6, 7, seed=4))
    problem = PowerControl({"n_pairs": 6, "fading": "jakes"})
    inst = problem.make_instances("test", 2, seed=0)
    rng = torch.Generator().manual_seed(1)
    shared, a, b = (torch.rand(2, 1, 6, generator=rng, dtype=torch.float64) * 0.01 for _ in range(3))
    ctx = Context(seed=11)
    # score() simulates each sample over the same fading: a sample's score cannot depend on the policy's other samples
    first = problem.score(inst, torch.cat([shared, a], dim=1), ctx)
    second = problem.score(inst, torch.cat([b, shared, a], dim=1), ctx)
    assert torch.equal(first[:, 0], second[:, 1])
    assert not torch.equal(first[:, 0], problem.score(inst, shared, Context(seed=12))[:, 0])


def _offended_count(gains: np.ndarray, perm: np.ndarray) -> int:
    """Receivers whose strongest transmitter is not the one serving them (independent of pairing.py)."""
    served = gains[:, perm]
    return int(sum(served[:, j].argmax() != j for j in range(len(perm))))


def test_exchange_reaches_the_fewest_offended_receivers_of_any_pairing():
    rng = np.random.default_rng(0)
    free = Geometry(6, 0.0, math.inf, 0.0)
    for _ in range(20):
        gains = rng.lognormal(0.0, 2.0, size=(6, 6))
        perm = exchange(gains, np.ones((6, 6)), free)
        assert sorted(perm) == list(range(6))
        best = min(_offended_count(gains, np.array(p)) for p in itertools.permutations(range(6)))
        assert _offended_count(gains, perm) == best


def test_an_exchange_that_fixes_both_receivers_is_made_unless_the_distance_rule_forbids_it():
    gains = np.array([[1.0, 5.0], [4.0, 1.0]])  # each transmitter is the stronger one at the other's receiver
    geometry = Geometry(2, 10.0, 50.0, 0.0)
    assert list(exchange(gains, np.full((2, 2), 30.0), geometry)) == [1, 0]
    assert list(exchange(gains, np.array([[30.0, 80.0], [30.0, 30.0]]), geometry)) == [0, 1]


def test_dominant_pairing_keeps_transmitters_and_the_distance_rule_and_leaves_no_receiver_a_swap_would_fix():
    params = {"n_pairs": 40, "density": 11.9, "d_min": 20.0, "d_max": 100.0, "d_tt": 50.0}
    drawn = PowerControl(params).make_instances("test", 4, seed=2).arrays
    paired = PowerControl({**params, "pairing": "dominant"}).make_instances("test", 4, seed=2).arrays
    H0, H, tx, rx, rx0 = (a.numpy() for a in (drawn["H"], paired["H"], paired["tx"], paired["rx"], drawn["rx"]))
    assert np.array_equal(tx, drawn["tx"].numpy())
    assert offended(H0).mean() > 0.1 and offended(H).sum() < offended(H0).sum()
    pair = np.diagonal(distances(tx, rx), axis1=1, axis2=2)
    assert (pair >= 20.0 - 1e-9).all() and (pair <= 100.0 + 1e-9).all()
    for b in range(4):
        # every receiver is a drawn one used once (re-paired) or a new one (moved); a kept one keeps its gains
        kept = []
        for i in range(40):
            match = np.flatnonzero((rx0[b] == rx[b, i]).all(-1))
            if len(match):
                kept.append(int(match[0]))
                assert np.array_equal(H[b][:, i], H0[b][:, match[0]])
            else:  # moved: only to where its own transmitter dominates it
                assert not offended(H[b:b + 1])[0, i]
        assert len(kept) == len(set(kept))
        # no exchange of two transmitters' receivers within the distance rule lowers the offended count
        d = distances(tx[b:b + 1], rx[b:b + 1])[0]
        now = _offended_count(H[b], np.arange(40))
        for j, k in itertools.combinations(range(40), 2):
            if 20.0 <= d[j, k] <= 100.0 and 20.0 <= d[k, j] <= 100.0:
                perm = np.arange(40)
                perm[[j, k]] = [k, j]
                assert _offended_count(H[b], perm) >= now


def _interference_free(problem: PowerControl, snr: np.ndarray):
    """Networks whose links do not interfere: H diagonal, direct SNR `snr` (B, N) at full power."""
    scale = problem.sigma2 / problem.params.p_max
    n_networks, n = snr.shape
    H = np.stack([np.diag(row * scale) for row in snr])
    tx = np.zeros((n_networks, n, 2))
    return problem.load_instances({"H": H, "tx": tx, "rx": tx + 30.0})


@pytest.mark.parametrize("percentiles", ["pooled", "per_network"])
def test_percentiles_pooled_or_per_network_on_closed_form_rates(percentiles):
    problem = PowerControl({"n_pairs": 5})
    snr = np.array([[1.0, 3.0, 10.0, 30.0, 100.0], [0.3, 1000.0, 3000.0, 1e4, 3e4]])
    inst = _interference_free(problem, snr)
    full = torch.full((2, 4, 5), problem.params.p_max, dtype=torch.float64)
    params = resolve(problem.eval_parameters, {"percentiles": percentiles, "T": 20})
    ev = problem.evaluate(inst, full, Context(seed=0), params)
    rate = np.exp(1.0 / snr) * exp1(1.0 / snr) / math.log(2.0)  # E log2(1 + a g), g ~ Exp(1)
    for name, q in (("p5", 0.05), ("p10", 0.10), ("p50", 0.5)):
        by_network = np.quantile(rate, q, axis=1)
        pooled = np.quantile(rate.ravel(), q)
        assert abs(by_network.mean() - pooled) > 0.05  # the hand-made case tells the two apart
        if percentiles == "per_network":
            assert ev.metrics[name] == pytest.approx(by_network.mean(), rel=1e-6)
            assert ev.per_instance[name] == pytest.approx(by_network, rel=1e-6)
            sim = np.quantile(ev.distributions["link_rate"], q, axis=1)  # the exact rates, as a check of the source
            assert sim == pytest.approx(by_network, rel=1e-6)
            assert ev.metrics["sim_" + name] == pytest.approx(ev.per_instance["sim_" + name].mean())
        else:
            assert ev.metrics[name] == pytest.approx(pooled, rel=1e-6)
            assert name not in ev.per_instance and "sim_" + name not in ev.per_instance


def test_draws_with_replacement_follow_the_weights_and_systematic_draws_split_them_evenly():
    weights = torch.tensor([[0.7, 0.3, 0.0], [0.2, 0.2, 0.6]], dtype=torch.float64)
    drawn = slot_schedule(weights, 20000, "with_replacement", torch.Generator().manual_seed(0))
    share = torch.stack([(drawn == s).double().mean(dim=1) for s in range(3)], dim=1)
    assert torch.allclose(share, weights, atol=0.015)
    even = slot_schedule(weights, 10, "systematic", torch.Generator().manual_seed(0))
    counts = torch.stack([(even == s).sum(dim=1) for s in range(3)], dim=1)
    assert counts.tolist() == [[7, 3, 0], [2, 2, 6]]
    one_each = slot_schedule(torch.full((1, 50), 0.02, dtype=torch.float64), 100, "with_replacement",
                             torch.Generator().manual_seed(1))
    assert len(one_each.unique()) < 50  # with replacement, 100 draws of 50 samples miss some (P(all) ~ 1e-17)


def test_sim_view_with_gsd_protocol_measures_the_exact_rates_of_a_single_sample():
    problem = PowerControl({"n_pairs": 5, "fading": "jakes"})
    snr = np.array([[1.0, 3.0, 10.0, 30.0, 100.0]])
    inst = _interference_free(problem, snr)
    full = torch.full((1, 3, 5), problem.params.p_max, dtype=torch.float64)
    params = resolve(problem.eval_parameters, {"T": 500, "T0": 5, "draws": "with_replacement", "percentiles": "per_network"})
    means = [problem.evaluate(inst, full, Context(seed=s), params).metrics["sim_mean_rate"] for s in range(20)]
    exact = float((np.exp(1.0 / snr) * exp1(1.0 / snr) / math.log(2.0)).mean())
    # 20 independent 5 s traces of 8 Hz fading: their mean is the Rayleigh expectation (same marginal, 25 paths)
    assert np.mean(means) == pytest.approx(exact, abs=4 * np.std(means) / math.sqrt(20) + 0.01)


@pytest.mark.parametrize("params,key", [
    ({"fading": "rician"}, "fading"), ({"doppler_hz": -1.0}, "doppler_hz"), ({"fading_paths": 0}, "fading_paths"),
    ({"pairing": "nearest"}, "pairing"),
])
def test_bad_protocol_parameters_are_refused_with_the_parameter_named(params, key):
    with pytest.raises(ParamError) as err:
        PowerControl(params)
    assert err.value.key == key


@pytest.mark.parametrize("params,key", [({"draws": "each"}, "draws"), ({"percentiles": "per_link"}, "percentiles")])
def test_bad_evaluator_parameters_are_refused_by_the_suite_with_their_key_path(params, key):
    with pytest.raises(ParamError) as err:
        resolve(PowerControl.eval_parameters, params)
    assert err.value.key == key
    suite = {"name": "s", "problem": {"name": "power_control", "instances": {"train": 1, "test": 1}},
             "expert": {"name": "primal_dual"}, "solvers": [{"name": "full_power"}], "evaluation": {"params": params}}
    with pytest.raises(SuiteError) as bad:
        validate(suite, load_plugins())
    assert any(f"evaluation.params.{key}" in line for line in bad.value.errors), bad.value.errors
