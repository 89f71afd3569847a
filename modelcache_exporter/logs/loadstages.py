"""Per-stage durations of one load, from the times its stage lines arrived.

Stage lines that arrived in one burst (stdout block-buffered: every `>>` line flushed at once) say
nothing about the stages; the load is flagged as buffered instead.
"""

from __future__ import annotations

from collections.abc import Sequence

BURST = 0.05
LAUNCH = "launch"


def stage_durations(
    marks: Sequence[tuple[str, float]], start: float, end: float, duration: float
) -> tuple[bool | None, dict[str, float]]:
    """(buffered, {stage: seconds}) of a load from `start` to `end`. `buffered` is None when no stage
    line arrived during the load (the flag then stays as last seen)."""
    times = [t for _, t in marks]
    if not times:
        return None, {}
    if len(times) >= 3 and max(times) - min(times) < BURST and duration >= 1.0:
        return True, {}
    stages: dict[str, float] = {}
    prev = start
    for stage, t in marks:
        stages[stage] = stages.get(stage, 0.0) + max(0.0, t - prev)
        prev = max(prev, t)
    stages[LAUNCH] = max(0.0, end - prev)
    return False, stages
