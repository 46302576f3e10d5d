"""Vectorised random draws shared by the generator modules."""

from __future__ import annotations

import numpy as np


def categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category per row of `probs` (rows sum to 1)."""
    cum = np.cumsum(probs, axis=1)
    return (rng.random(len(probs))[:, None] > cum[:, :-1]).sum(1)


def top_k_distinct(rng: np.random.Generator, weights: np.ndarray, k: np.ndarray,
                   width: int) -> np.ndarray:
    """Per row, up to `k[i]` distinct category indices drawn by `weights` without
    replacement (Gumbel top-k), padded with -1."""
    n = len(k)
    keys = np.log(weights)[None, :] + rng.gumbel(size=(n, len(weights)))
    order = np.argsort(-keys, axis=1)[:, :width]
    return np.where(np.arange(width)[None, :] < k[:, None], order, -1)


def dedupe_rows(a: np.ndarray) -> np.ndarray:
    """Rows with repeated values replaced by -1 and the rest moved left."""
    s = np.sort(a, axis=1)
    dup = np.zeros_like(s, dtype=bool)
    dup[:, 1:] = s[:, 1:] == s[:, :-1]
    s = np.where(dup, -1, s)
    # Valid values first (stable), -1 last.
    order = np.argsort(s < 0, axis=1, kind="stable")
    return np.take_along_axis(s, order, 1)


def split_hash(a: np.ndarray, b: np.ndarray, seed: int) -> np.ndarray:
    """A reproducible uniform in (0, 1) for each pair (a, b): splitmix64 of the pair."""
    with np.errstate(over="ignore"):
        x = (a.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
             ^ (b.astype(np.uint64) + np.uint64(seed & 0xFFFFFFFF)) * np.uint64(0xBF58476D1CE4E5B9))
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return ((x >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


def pair_normal(a: np.ndarray, b: np.ndarray, seed: int) -> np.ndarray:
    """A reproducible standard normal for each pair (Box–Muller on two hashes)."""
    u1 = split_hash(a, b, seed)
    u2 = split_hash(b, a, seed + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
