"""sa_pd: the learned state-augmented primal-dual policy (dual dynamics, equivariance, training, contract)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from wrbench.api import Context, derive_seed
from wrbench.core.plugins import load_plugins
from wrbench.devkit.testing import assert_conformant
from wrbench.params import ParamError
from wrbench_plugins.power_control.problem import PowerControl
from wrbench_plugins.power_control.rates import EXACT_NODES, expected_rates, link_rates
from wrbench_plugins.power_control.sa_pd import SAPDExpert, SAPDSolver
from wrbench_plugins.power_control.sa_pd_dynamics import expected_feedback, measured_feedback, run_dual_dynamics

# a small, cheap configuration: the behaviour under test does not depend on the size
TINY = {"hidden": 16, "layers": 2, "extra_networks": 24, "batch_networks": 16, "burn_in": 20}


@pytest.fixture(scope="module")
def problem():
    return PowerControl({"n_pairs": 6, "f_min": 1.0, "density": 8.0})


@pytest.fixture(scope="module")
def train(problem):
    return problem.make_instances("train", 8, 0)


@pytest.fixture(scope="module")
def test(problem):
    return problem.make_instances("test", 6, 1)


def fitted(problem, train, steps: int, **params) -> SAPDSolver:
    solver = SAPDSolver({**TINY, "train_steps": steps, **params})
    solver.fit(problem, train, None, Context(3))
    return solver


def held_out_lagrangian(solver: SAPDSolver, problem, instances) -> float:
    """Mean Lagrangian on `instances` over fixed dual draws, rates on the exact quadrature."""
    dual = solver.draw_duals((16, len(instances), problem.params.n_pairs), torch.Generator().manual_seed(11))
    with torch.no_grad():
        power = solver.powers(solver._graph_inputs(problem, instances, "cpu"), dual)
    rates = expected_rates(power, problem.snr_gains(instances), EXACT_NODES)
    f_min = instances.arrays["f_min"].unsqueeze(-1)
    return float(((rates + dual * (rates - f_min)).mean(-1) / (1 + dual.mean(-1))).mean())


# ---------------------------------------------------------------------------- dual dynamics


def test_dual_rises_on_a_link_kept_below_f_min_and_stays_zero_elsewhere(problem, test):
    """A fixed policy keeps link 0 off (rate exactly 0) and the others at full power: with expected feedback,
    lambda_0 grows by eta * target per slot until the cap; links above their target keep lambda = 0."""
    gains = problem.snr_gains(test)
    power = torch.ones(gains.shape[:2], dtype=torch.float64)
    power[:, 0] = 0.0
    target = torch.full(gains.shape[:2], 0.05, dtype=torch.float64)  # every other link beats 0.05 at full power
    assert bool((expected_rates(power, gains)[:, 1:] > 0.05).all())
    eta, cap, slots = 0.3, 2.0, 200
    run = run_dual_dynamics(lambda dual: power, expected_feedback(gains), target, eta, cap, 150, 50)
    expected = np.minimum(eta * 0.05 * np.arange(slots + 1), cap)
    np.testing.assert_allclose(run.duals[:, :, 0].numpy(), np.repeat(expected[:, None], len(test), 1), rtol=1e-12)
    assert float(run.duals[:, :, 1:].abs().max()) == 0.0
    assert run.window.shape == (len(test), 50, gains.shape[1])


def test_measured_feedback_raises_the_dual_by_the_expected_shortfall(problem, test):
    """At a fixed low power each link's expected rate sits 0.3 below target; with rates measured over 5 fading
    steps per slot, lambda after K slots (never capped) is about eta * K * 0.3, give or take eta * sqrt(K) times
    the spread of a slot's measured rate (estimated here by an independent Monte Carlo): within 5 of those."""
    gains = problem.snr_gains(test)
    power = torch.full(gains.shape[:2], 0.02, dtype=torch.float64)
    target = expected_rates(power, gains) + 0.3
    eta, slots = 0.1, 400
    run = run_dual_dynamics(lambda dual: power, measured_feedback(gains, 5, torch.Generator().manual_seed(0)),
                            target, eta, 1e9, slots - 1, 1)
    fading = torch.empty(4000, 5, *gains.shape, dtype=torch.float64).exponential_(generator=torch.Generator().manual_seed(9))
    slot_rates = link_rates(power, gains * fading).mean(dim=1)  # (draws, B, N)
    spread = eta * slots**0.5 * slot_rates.std(0)
    final = run.duals[-1]
    assert bool((final - eta * slots * 0.3).abs().lt(5 * spread).all()), (final, spread)


# -------------------------------------------------------------------------------- the policy


def test_policy_is_permutation_equivariant(problem, test):
    solver = fitted(problem, test, 0)
    perm = torch.randperm(problem.params.n_pairs, generator=torch.Generator().manual_seed(5))
    permuted = test.clone()
    permuted.arrays["H"] = test.arrays["H"][:, perm][:, :, perm]
    permuted.arrays["tx"], permuted.arrays["rx"] = test.arrays["tx"][:, perm], test.arrays["rx"][:, perm]
    dual = torch.rand(2, len(test), problem.params.n_pairs, generator=torch.Generator().manual_seed(6)) * 4
    with torch.no_grad():
        base = solver.powers(solver._graph_inputs(problem, test, "cpu"), dual)
        moved = solver.powers(solver._graph_inputs(problem, permuted, "cpu"), dual[..., perm])
    torch.testing.assert_close(moved, base[..., perm], rtol=1e-5, atol=1e-6)


def test_policy_depends_on_the_duals(problem, test):
    solver = fitted(problem, test, 0)
    inputs = solver._graph_inputs(problem, test, "cpu")
    with torch.no_grad():
        low = solver.powers(inputs, torch.zeros(len(test), problem.params.n_pairs))
        high = solver.powers(inputs, torch.full((len(test), problem.params.n_pairs), 5.0))
    assert float((low - high).abs().max()) > 1e-3


def test_gradients_of_the_expected_rates_match_finite_differences(problem, test):
    gains = problem.snr_gains(test)[:2]
    power = torch.rand(2, problem.params.n_pairs, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    power.requires_grad_(True)
    expected_rates(power, gains).sum().backward()
    step = torch.zeros_like(power)
    step[1, 3] = 1e-6
    numeric = (expected_rates(power.detach() + step, gains).sum() - expected_rates(power.detach() - step, gains).sum()) / 2e-6
    assert abs(float(power.grad[1, 3]) - float(numeric)) < 1e-6 * max(1.0, abs(float(numeric)))


def test_training_raises_the_held_out_lagrangian(problem, train, test):
    untrained = held_out_lagrangian(fitted(problem, train, 0), problem, test)
    trained = held_out_lagrangian(fitted(problem, train, 80), problem, test)
    assert trained > 1.2 * untrained, (untrained, trained)


# ---------------------------------------------------------------------------- solver contract


def test_samples_lie_in_the_box_and_are_reproducible(problem, train, test):
    solver = fitted(problem, train, 5)
    x = solver.sample(problem, test, 10, Context(1))
    assert x.shape == (len(test), 10, problem.params.n_pairs)
    assert float(x.min()) >= 0.0 and float(x.max()) <= problem.params.p_max
    torch.testing.assert_close(solver.sample(problem, test, 10, Context(1)), x, rtol=0, atol=0)
    again = fitted(problem, train, 5)
    torch.testing.assert_close(again.sample(problem, test, 10, Context(1)), x, rtol=0, atol=0)


def test_measured_feedback_samples_follow_the_seed(problem, train, test):
    solver = fitted(problem, train, 5, feedback="measured")
    first = solver.sample(problem, test, 10, Context(1))
    torch.testing.assert_close(solver.sample(problem, test, 10, Context(1)), first, rtol=0, atol=0)
    assert not torch.equal(solver.sample(problem, test, 10, Context(2)), first)


def test_state_round_trip_gives_identical_samples(problem, train, test):
    solver = fitted(problem, train, 5)
    fresh = SAPDSolver({**TINY, "train_steps": 5})
    fresh.load_state_dict(solver.state_dict())
    torch.testing.assert_close(fresh.sample(problem, test, 8, Context(4)), solver.sample(problem, test, 8, Context(4)),
                               rtol=0, atol=0)


@pytest.fixture(scope="module")
def bundled():
    return load_plugins(entry_points=True)


def test_solver_is_conformant(bundled):
    assert_conformant("sa_pd", registry=bundled, problems=["power_control"], n_train=8, n_test=3, n_samples=3)


def test_expert_samples_train_a_solver(bundled):
    """The expert path: sa_pd's samples feed a solver that needs an expert, through the conformance kit."""
    assert_conformant("discriminative", registry=bundled, problems=["power_control"], params={"train_steps": 3},
                      expert=("sa_pd", SAPDExpert.test_params), n_train=8, n_test=3, n_samples=3, expert_samples=4)


def test_expert_fits_once_on_its_own_networks_and_serves_every_split(problem, train, test):
    expert = SAPDExpert({**TINY, "train_steps": 5, "seed": 7})
    on_train = expert.solve(problem, train, 6, Context(2))
    assert on_train.shape == (len(train), 6, problem.params.n_pairs)
    assert float(on_train.min()) >= 0.0 and float(on_train.max()) <= problem.params.p_max
    assert expert.diagnostics["fit_cached"] == 0.0
    on_test = expert.solve(problem, test, 6, Context(3))
    assert expert.diagnostics["fit_cached"] == 1.0
    solver = SAPDSolver({**TINY, "train_steps": 5})  # the same fit, done by hand: the given networks play no part
    solver.fit_networks(problem, problem.make_instances("train", TINY["extra_networks"], derive_seed(7, "sa_pd", "networks")),
                        Context(derive_seed(7, "sa_pd", "fit")))
    torch.testing.assert_close(solver.sample(problem, test, 6, Context(3)), on_test, rtol=0, atol=0)


def test_expert_needs_networks_of_its_own():
    with pytest.raises(ParamError, match="extra_networks"):
        SAPDExpert({"extra_networks": 0})
