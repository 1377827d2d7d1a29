"""The spike rule: is a period's count anomalous against the periods just before it?

A period is a spike when its count is at least `min_count` and above the mean of the
`window` periods before it by more than `threshold` population standard deviations. A
period with fewer than `window` periods before it is never a spike: a short history would
flag the start of every series. Pure and engine-free, so timelines and volume alerts flag
the same periods.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SpikeRule:
    """The rule's parameters (the defaults suit daily counts: four weeks of history)."""

    window: int = 28
    threshold: float = 3.0
    min_count: int = 5


def flag_spikes(counts: Sequence[int], rule: SpikeRule) -> list[bool]:
    """For each period, whether its count is a spike against its trailing window."""
    flags = []
    # Running integer sums over the window: O(n) for the series, and exact (a flat
    # history has a spread of exactly 0, not a rounding error's).
    total = squares = 0
    for i, count in enumerate(counts):
        flagged = False
        if i >= rule.window:
            mean = total / rule.window
            spread = math.sqrt(squares * rule.window - total * total) / rule.window
            flagged = count >= rule.min_count and count > mean + rule.threshold * spread
            leaving = counts[i - rule.window]
            total -= leaving
            squares -= leaving * leaving
        total += count
        squares += count * count
        flags.append(flagged)
    return flags


def trailing_stats(window: Sequence[int]) -> tuple[float, float]:
    """The mean and population standard deviation of a window's counts, as flag_spikes
    computes them (exact integer sums first)."""
    size, total, squares = len(window), sum(window), sum(c * c for c in window)
    return total / size, math.sqrt(squares * size - total * total) / size
