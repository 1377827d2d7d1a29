"""Fault injection for the crash tests: a process that kills itself at a named point.

`NEWSDESK_FAULT_KILL_AT=<point>[:<n>]` makes the process send itself SIGKILL the n-th time
(the first, without `:<n>`) it reaches `<point>`: the state a power cut or the OOM killer
leaves, placed exactly instead of by timing. Unset, as everywhere outside those tests,
every point does nothing.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

from app.config import KILL_POINTS, get_settings

_reached: Counter[str] = Counter()


def kill_point(name: str) -> None:
    """SIGKILL this process if the setting names this point and this is its n-th time."""
    assert name in KILL_POINTS, name
    target = get_settings().fault_kill_at
    if target is None:
        return
    point, _, nth = target.partition(":")  # the point's name is checked by Settings
    if point != name:
        return
    _reached[name] += 1
    if _reached[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
