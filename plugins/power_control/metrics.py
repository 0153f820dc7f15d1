"""The metrics of a time-shared policy, from its per-link ergodic rates: one definition for the exact and the simulated view.

Per network (length-B arrays, the board's units): mean, sum and worst link
rate, the share of links at or above f_min, the mean relative shortfall
below f_min (`violation`), Jain's fairness and the weighted share of links a
single sample would serve at f_min. Percentiles pool the links of all
networks (2504.20277's CDF figures) or, with `percentiles: per_network`, are
taken per network and averaged (gsd's evaluator).
"""
from __future__ import annotations

import torch

# A link at f_min * (1 - FEASIBILITY_RTOL) or above counts as feasible: the exact rates of an LP mixture
# meet its active constraints only to the LP's and the quadrature's precision (~1e-8 relative).
FEASIBILITY_RTOL = 1e-6
PERCENTILES = {"p1": 0.01, "p5": 0.05, "p10": 0.10, "p50": 0.50}


def per_network(link: torch.Tensor, per_sample: torch.Tensor, weights: torch.Tensor, f_min: torch.Tensor) -> dict[str, torch.Tensor]:
    """Metrics (B,) from the policy's link rates (B, N), each sample's own rates (B, S, N), weights (B, S), f_min (B,)."""
    level = f_min.unsqueeze(-1)
    feasible = link >= level * (1.0 - FEASIBILITY_RTOL)
    shortfall = (level - link).clamp(min=0.0) / level.clamp(min=1e-30)
    one_sample = (per_sample >= level.unsqueeze(1) * (1.0 - FEASIBILITY_RTOL)).double().mean(dim=-1)  # (B, S)
    return {
        "mean_rate": link.mean(dim=-1),
        "sum_rate": link.sum(dim=-1),
        "min_rate": link.amin(dim=-1),
        "feasible_frac": feasible.double().mean(dim=-1),
        "violation": shortfall.mean(dim=-1),
        "fairness": link.sum(-1).square() / (link.shape[-1] * link.square().sum(-1)).clamp(min=1e-300),
        "single_sample_feasible_frac": (weights * one_sample).sum(dim=-1),
    }


def pooled_percentiles(link: torch.Tensor) -> dict[str, float]:
    """Rate percentiles over the links of every network."""
    values = torch.quantile(link.flatten(), torch.tensor(list(PERCENTILES.values()), dtype=link.dtype))
    return {name: float(v) for name, v in zip(PERCENTILES, values)}


def network_percentiles(link: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each network's own rate percentiles (B,) over its N links (gsd's evaluator averages these over networks)."""
    values = torch.quantile(link, torch.tensor(list(PERCENTILES.values()), dtype=link.dtype), dim=-1)
    return dict(zip(PERCENTILES, values))
