"""When a root's worker does what next: its jobs, each due at a monotonic time.

A job is either a periodic `Tick` of the whole root or the rescan of one model: `Rescan` (a moment after
its event, the debounce) and `Settle` (once more a little later: a snapshot link may follow its blob).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum


class Tick(Enum):
    """The root-wide jobs."""

    RECONCILE = "reconcile"  # a size pass over the whole root, compared with the index
    INCOMPLETE = "incomplete"  # re-stat the partial downloads
    POLL = "poll"  # without inotify: compare folder signatures
    STORE = "store"  # recount the shared Xet store
    VERIFY_PUBLISH = "verify_publish"  # the link pass may publish again (at most once a second)


@dataclass(frozen=True)
class Rescan:
    """The exact rescan of one model after an event (the debounce)."""

    key: str


@dataclass(frozen=True)
class Settle:
    """The second rescan of one model, `settle` seconds after the first."""

    key: str


Job = Tick | Rescan | Settle


class Schedule:
    """The jobs due, each at most once, in the order they were first scheduled (ties run in that order)."""

    def __init__(self) -> None:
        self._due: dict[Job, float] = {}

    def __contains__(self, job: Job) -> bool:
        return job in self._due

    def reset(self, jobs: dict[Job, float]) -> None:
        """Forget every job; schedule `jobs` instead."""
        self._due = dict(jobs)

    def at(self, job: Job, when: float) -> None:
        """Run `job` at `when` (rescheduled if it was already due at another time)."""
        self._due[job] = when

    def at_latest(self, job: Job, when: float) -> None:
        """Run `job` at `when`, or earlier if it is already due earlier."""
        if self._due.get(job, when) >= when:
            self._due[job] = when

    def unless_due(self, job: Job, when: float) -> None:
        """Run `job` at `when` unless it is already scheduled."""
        self._due.setdefault(job, when)

    def cancel(self, job: Job) -> None:
        """Drop `job` (a no-op when it is not scheduled)."""
        self._due.pop(job, None)

    def is_due(self, job: Job, now: float) -> bool:
        """True when `job` is scheduled at `now` or before."""
        when = self._due.get(job)
        return when is not None and when <= now

    def waiting(self, job: Job, now: float) -> bool:
        """True when `job` is scheduled after `now`."""
        when = self._due.get(job)
        return when is not None and when > now

    def next_time(self, default: float) -> float:
        """When the next job is due (`default` when none is)."""
        return min(self._due.values(), default=default)

    def pending_models(self) -> set[str]:
        """The models with a rescan (or settle) scheduled."""
        return {job.key for job in self._due if isinstance(job, (Rescan, Settle))}

    def take_due_rescans(self, now: float) -> Iterator[Rescan | Settle]:
        """The model rescans due by `now`, earliest first, each unscheduled as it is handed out."""
        due = [job for job, when in sorted(self._due.items(), key=lambda item: item[1]) if when <= now]
        for job in due:
            if isinstance(job, (Rescan, Settle)):
                del self._due[job]
                yield job
