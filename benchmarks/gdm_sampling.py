"""Where gdm's sampling time goes: each denoiser call against the bare forward pass of its network, and the
cost per network as N grows at a fixed k (the sparse top-k graph makes one pass O(N k)).

    python benchmarks/gdm_sampling.py [--sizes 50 200 800] [--networks 4] [--samples 40] [--steps 10]

Everything is timed in one process on the same batched graphs (median of `--rounds`), so the ratios do
not depend on the machine's speed. Weights are untrained (the cost of a pass does not depend on them).
"""
from __future__ import annotations

import argparse
import statistics

import torch

from wrbench.api import Context
from wrbench.core.clock import timed
from wrbench.core.plugins import load_plugins


def median_seconds(fn, rounds: int) -> float:
    fn()  # warm-up
    return statistics.median(timed(fn)[1] for _ in range(rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 800])
    parser.add_argument("--networks", type=int, default=4)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    registry = load_plugins(entry_points=True)
    print(f"N, networks, samples, denoiser calls, sample s/net, bare forward s, per-call / forward, s/net per N "
          f"(torch threads {args.threads})")
    for n in args.sizes:
        problem = registry.get("problem", "power_control")({"n_pairs": n})
        train, test = problem.make_instances("train", 2, 0), problem.make_instances("test", args.networks, 1)
        solver = registry.make_solver("gdm", {"train_steps": 0, "sampler": "dpm_solver", "sample_steps": args.steps},
                                      "power_control")
        targets = problem.decision_set(train).uniform(4, n, torch.Generator().manual_seed(0))
        solver.fit(problem, train, targets, Context(0))
        calls = []
        hook = solver.net.register_forward_hook(lambda *_: calls.append(1))
        sample = median_seconds(lambda: solver.sample(problem, test, args.samples, Context(1)), args.rounds)
        per_sample_call = len(calls) // (args.rounds + 1)
        hook.remove()
        node_x, edge_index, edge_weight = solver._graph(problem, test, "cpu")
        x_t = torch.randn(args.samples, node_x.shape[0])
        t = torch.tensor(50)

        def forward():
            with torch.inference_mode():
                return solver.net(x_t, t, node_x, edge_index, edge_weight)

        bare = median_seconds(forward, args.rounds)
        per_net = sample / args.networks
        print(f"{n}, {args.networks}, {args.samples}, {per_sample_call}, {per_net:.4g}, {bare:.4g}, "
              f"{sample / (per_sample_call * bare):.3f}, {per_net / n:.3g}")


if __name__ == "__main__":
    main()
