"""Interference-network geometry and long-term channel gains.

Everything here is drawn with numpy generators so a network is a pure function
of its seed; the evaluation's fading lives in `rates.py`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Candidate positions tried per transmitter before placement is declared impossible.
PLACEMENT_TRIES = 500


@dataclass(frozen=True)
class Geometry:
    """What fixes a network configuration besides its density (drawn per network): pair count and distance rules."""

    n_pairs: int
    d_min: float  # metres, shortest tx-rx distance of a pair
    d_max: float  # metres, longest tx-rx distance of a pair
    d_tt: float  # metres, smallest distance between transmitters

    def __post_init__(self) -> None:
        if self.d_min > self.d_max:
            raise ValueError(f"d_min={self.d_min:g} m exceeds d_max={self.d_max:g} m")


def side_length(n_pairs: int, density: float | np.ndarray) -> float | np.ndarray:
    """Side (m) of the square holding n_pairs at `density` pairs per km^2."""
    return 1000.0 * np.sqrt(n_pairs / density)


def noise_power(noise_psd_dbm: float, bandwidth: float) -> float:
    """Thermal noise in watts over the band: PSD (dBm/Hz) times bandwidth."""
    return 10.0 ** ((noise_psd_dbm - 30.0) / 10.0) * bandwidth


def path_loss_db(distance: np.ndarray) -> np.ndarray:
    """Dual-slope path loss in dB (free-space slope up to 100 m, 40 dB/decade beyond)."""
    d = np.maximum(distance, 1.0)
    near = 39.0 + 20.0 * np.log10(d)
    far = 39.0 + 40.0 + 40.0 * np.log10(d / 100.0)
    return np.where(d <= 100.0, near, far)


def place_transmitters(rng: np.random.Generator, geometry: Geometry, density: np.ndarray) -> np.ndarray:
    """Transmitters (B, N, 2) uniform in each network's square and at least d_tt apart.

    `density` (B,) gives each network's pairs per km^2. Sequential rejection sampling, batched over
    networks: for each new transmitter every network draws PLACEMENT_TRIES
    candidates and keeps the first one far enough from those already placed.
    """
    n, n_networks = geometry.n_pairs, len(density)
    side = side_length(n, np.asarray(density, dtype=float))[:, None, None]
    placed = np.zeros((n_networks, n, 2))
    rows = np.arange(n_networks)
    for k in range(n):
        cand = rng.uniform(0.0, 1.0, size=(n_networks, PLACEMENT_TRIES, 2)) * side
        dist = np.linalg.norm(cand[:, :, None, :] - placed[:, None, :k, :], axis=-1)
        ok = (dist >= geometry.d_tt).all(axis=-1) if k else np.ones(cand.shape[:2], bool)
        stuck = ~ok.any(axis=1)
        if stuck.any():
            worst = float(density[stuck.argmax()])
            raise ValueError(
                f"cannot place N={n} transmitters at least d_tt={geometry.d_tt:g} m apart at "
                f"density={worst:g} pairs/km^2 (square side {side_length(n, worst):.0f} m) after "
                f"{PLACEMENT_TRIES} tries for transmitter {k + 1}; lower N or d_tt, or the density"
            )
        placed[:, k] = cand[rows, ok.argmax(axis=1)]
    return placed


def place_receivers(rng: np.random.Generator, tx: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Receivers (B, N, 2): uniform angle, distance sqrt(U[d_min^2, d_max^2]) from their transmitter."""
    angle = rng.uniform(0.0, 2.0 * np.pi, size=tx.shape[:2])
    radius = np.sqrt(rng.uniform(geometry.d_min**2, geometry.d_max**2, size=tx.shape[:2]))
    return tx + radius[..., None] * np.stack([np.cos(angle), np.sin(angle)], axis=-1)


def draw_positions(rng: np.random.Generator, geometry: Geometry, density: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Transmitter and receiver positions (B, N, 2) in metres, for B = len(density) networks."""
    tx = place_transmitters(rng, geometry, density)
    return tx, place_receivers(rng, tx, geometry)


def distances(tx: np.ndarray, rx: np.ndarray) -> np.ndarray:
    """D[b, j, i] = distance from transmitter j to receiver i (B, N, N)."""
    return np.linalg.norm(tx[:, :, None, :] - rx[:, None, :, :], axis=-1)


def long_term_gains(rng: np.random.Generator, tx: np.ndarray, rx: np.ndarray, shadowing_db: float) -> np.ndarray:
    """H[b, j, i] (linear power gain, tx j -> rx i): path loss plus i.i.d. log-normal shadowing."""
    loss_db = path_loss_db(distances(tx, rx)) + rng.normal(0.0, shadowing_db, size=(tx.shape[0], tx.shape[1], rx.shape[1]))
    return 10.0 ** (-loss_db / 10.0)
