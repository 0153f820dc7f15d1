"""Re-pairing transmitters with receivers they dominate (the `pairing: dominant` option, after gsd's deployment).

A receiver is *dominated* by the transmitter with the largest long-term gain
H[j, i] to it (path loss and shadowing: what its mean SINR sees); it is
*offended* when that transmitter is not its own. Two phases, network by network:

1. Exchanges: two transmitters exchange their receivers while an exchange
   lowers the number of offended receivers and keeps both pair distances in
   [d_min, d_max]. When none is left, no exchange within the distance rule
   fixes a receiver.
2. Moves: a receiver still offended is drawn again around its own transmitter
   (uniform angle, distance sqrt(U[d_min^2, d_max^2]), fresh shadowing on its
   links) until its transmitter dominates it, at most MOVE_TRIES times; if no
   draw does, it stays where it was.

Transmitters and the other receivers never move, and every pair keeps the
distance rule. Moves change only the moved receiver's gains, and only make it
un-offended, so no exchange fixes a receiver afterwards either.
"""
from __future__ import annotations

import numpy as np

from .network import Geometry, distances, path_loss_db

# Draws of a new position per offended receiver before it is left where it was.
MOVE_TRIES = 200


def offended(gains: np.ndarray) -> np.ndarray:
    """(..., N) whether receiver i has a stronger interferer than its own transmitter i (gains [tx j, rx i])."""
    return np.diagonal(gains, axis1=-2, axis2=-1) < gains.max(axis=-2)


def swaps_that_fix(gains: np.ndarray, in_range: np.ndarray) -> np.ndarray:
    """(N, N) change in the number of offended receivers when transmitters j and k exchange receivers.

    `gains` and `in_range` are indexed [tx, rx of the current pairing]; entries
    whose exchange would put a pair outside the distance rule are 0.
    """
    served_badly = (gains < gains.max(axis=0, keepdims=True)).astype(int)  # [k, j]: k serving j's receiver is offended
    own = np.diagonal(served_badly)
    change = served_badly + served_badly.T - own[None, :] - own[:, None]
    return np.where(in_range & in_range.T, change, 0)


def exchange(gains: np.ndarray, pair_distance: np.ndarray, geometry: Geometry) -> np.ndarray:
    """perm (N,): transmitter j serves receiver perm[j] after phase 1, for one network's gains and distances (N, N)."""
    n = gains.shape[0]
    perm = np.arange(n)
    in_range = (pair_distance >= geometry.d_min) & (pair_distance <= geometry.d_max)
    for _ in range(n):  # each exchange lowers the count of offended receivers (at most N) by at least 1
        change = swaps_that_fix(gains[:, perm], in_range[:, perm])
        k, j = np.unravel_index(np.argmin(change), change.shape)
        if change[k, j] >= 0:
            break
        perm[[j, k]] = perm[[k, j]]
    return perm


def move_offended(rng: np.random.Generator, tx: np.ndarray, rx: np.ndarray, gains: np.ndarray, geometry: Geometry,
                  shadowing_db: float) -> None:
    """Phase 2, in place on rx (B, N, 2) and gains (B, N, N): offended receivers redrawn around their transmitter."""
    for _ in range(MOVE_TRIES):
        net, link = np.nonzero(offended(gains))
        if not len(net):
            return
        angle = rng.uniform(0.0, 2.0 * np.pi, size=len(net))
        radius = np.sqrt(rng.uniform(geometry.d_min**2, geometry.d_max**2, size=len(net)))
        position = tx[net, link] + radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=-1)
        loss_db = path_loss_db(np.linalg.norm(tx[net] - position[:, None, :], axis=-1))  # (moved, N) from every tx
        column = 10.0 ** (-(loss_db + rng.normal(0.0, shadowing_db, size=loss_db.shape)) / 10.0)
        ok = column[np.arange(len(net)), link] >= column.max(axis=-1)
        rx[net[ok], link[ok]] = position[ok]
        gains[net[ok], :, link[ok]] = column[ok]


def repair(rng: np.random.Generator, tx: np.ndarray, rx: np.ndarray, gains: np.ndarray, geometry: Geometry,
           shadowing_db: float) -> tuple[np.ndarray, np.ndarray]:
    """Receivers (B, N, 2) and gains (B, N, N) after both phases; tx (B, N, 2) stays."""
    rx, gains = rx.copy(), gains.copy()
    pair_distance = distances(tx, rx)
    for b in range(len(gains)):
        perm = exchange(gains[b], pair_distance[b], geometry)
        rx[b], gains[b] = rx[b][perm], gains[b][:, perm]
    move_offended(rng, tx, rx, gains, geometry, shadowing_db)
    return rx, gains
