"""Whose lateness each late working day was, from one task's events in the ledger.

- A window's lateness runs from its missed deadline (the deadline the last `deadline_set`,
  `replanned` or `resumed` event gave it) to the message that ended it (a stage-moving
  message, a new window, or a re-plan that opened it again): owned by the window's owner
  unit (the lead unit; the assigning unit for verification).
- A matter's unanswered time (a difficulty, a request for more time, a disagreement) runs
  from when it was raised to its answer, owned by whoever had to answer at each moment: the
  answering unit at the first level (the office, the approver), then the leader each climb
  of the matter's own ladder asked.
- While the task is suspended nobody is late.

A working day is counted for an interval when it falls after the day the interval began
and no later than the day it ended (office time): a window missed on Friday at 18:00 and
answered on Wednesday is late Monday, Tuesday and Wednesday, three working days.

A unit's own lateness is its windows' late days less the days a matter on that task awaited
someone else's answer. A matter is overdue once its first answer window has passed (its
first `matter_missed`); the answerer is late on a day the matter awaited it while the task
was late for it, or while the matter was overdue: each such day is owned by whoever had to
answer that day, the office or the leader the matter had climbed to."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workflows.names import EventKind
from workflows.windows import LABELS

# An owner: ("unit", name) or ("role", a ladder role such as deputy_secretary_general).
Owner = tuple[str, str]
# Working days as a half-open run of indices into the period's working days, so a span of
# months costs two bisections, not a day-by-day walk; sets of days are sorted disjoint runs.
Run = tuple[int, int]
Runs = list[Run]
Days = Callable[[datetime, datetime], Run]

ENDS_WINDOW = frozenset(
    {
        EventKind.RECEIVED,
        EventKind.DEPLOYED,
        EventKind.REPORTED_PLAN,
        EventKind.REPORTED_PROGRESS,
        EventKind.REPORTED_COMPLETION,
        EventKind.VERIFIED,
        EventKind.REJECTED,
        EventKind.WITHDRAWN,
        EventKind.NEW_APPROACH,
    }
)
SETS_DEADLINE = frozenset({EventKind.DEADLINE_SET, EventKind.REPLANNED, EventKind.RESUMED})
RAISES = {
    EventKind.DIFFICULTY_REPORTED: "difficulty",
    EventKind.EXTENSION_REQUESTED: "extension",
    EventKind.DISAGREEMENT_RAISED: "disagreement",
}
ANSWERS = {
    EventKind.DIFFICULTY_ANSWERED: "difficulty",
    EventKind.EXTENSION_APPROVED: "extension",
    EventKind.EXTENSION_REFUSED: "extension",
    EventKind.DISAGREEMENT_RESOLVED: "disagreement",
}
MATTER_STEPS = frozenset(
    {EventKind.MATTER_OPENED, EventKind.MATTER_ESCALATED, EventKind.MATTER_MISSED}
)
TERMINAL = frozenset({EventKind.VERIFIED, EventKind.WITHDRAWN})
# The kinds the walk reads: what a query for it selects.
KINDS = frozenset(
    {
        *ENDS_WINDOW,
        *SETS_DEADLINE,
        *RAISES,
        *ANSWERS,
        *MATTER_STEPS,
        EventKind.MISSED,
        EventKind.SUSPENDED,
    }
)


def matter_of(detail: str) -> str | None:
    """Which matter a matter_* event is about: its detail begins with the matter's label."""
    for kind in ("difficulty", "extension", "disagreement"):
        if detail.startswith(LABELS[kind]):
            return kind
    return None


@dataclass
class Span:
    owner: Owner
    start: datetime
    end: datetime | None = None
    past: bool = False  # a matter's wait once its first answer window had passed


@dataclass
class Walk:
    """One task's late spans, waits and suspensions."""

    late: list[Span] = field(default_factory=list)
    waits: list[Span] = field(default_factory=list)
    suspended: list[Span] = field(default_factory=list)


def walk(events: Iterable[Any], ladder: Callable[[str, int], str]) -> Walk:
    """Events of one task in seq order, mappings (ledger records) with `at`, `kind`,
    `unit`, `level`, `deadline`, `detail`; `ladder(matter, level)` names the role at a
    level above the first."""
    w = Walk()
    deadline: datetime | None = None
    late: Span | None = None
    waits: dict[str, Span] = {}
    raised: dict[str, datetime] = {}
    overdue: set[str] = set()  # matters whose first answer window has passed
    pause: Span | None = None

    def end_late(at: datetime) -> None:
        nonlocal late
        if late is not None:
            late.end = at
            late = None

    def end_wait(kind: str, at: datetime) -> None:
        span = waits.pop(kind, None)
        if span is not None:
            span.end = at

    for e in events:
        kind, at = e["kind"], e["at"]
        if kind in SETS_DEADLINE and e["deadline"] is not None:
            deadline = e["deadline"]
            if kind != EventKind.RESUMED and e["deadline"] > at:
                end_late(at)  # a new window, or this one open again
        if kind == EventKind.MISSED:
            end_late(at)
            start = deadline if deadline is not None and deadline <= at else at
            late = Span(("unit", e["unit"] or ""), start)
            w.late.append(late)
        elif kind in ENDS_WINDOW:
            end_late(at)
        if kind == EventKind.SUSPENDED:
            pause = Span(("unit", ""), at)
            w.suspended.append(pause)
        elif kind == EventKind.RESUMED and pause is not None:
            pause.end, pause = at, None
        if kind in RAISES:
            raised[RAISES[kind]] = at
        elif kind in ANSWERS:
            end_wait(ANSWERS[kind], at)
            overdue.discard(ANSWERS[kind])
        elif kind in MATTER_STEPS and (matter := matter_of(e["detail"] or "")) is not None:
            current = waits.get(matter)
            end_wait(matter, at)
            if kind == EventKind.MATTER_MISSED:
                overdue.add(matter)
                if current is not None:  # the same answerer, now past the window
                    waits[matter] = Span(current.owner, at, past=True)
            else:
                level = int(e["level"] or 0)
                owner = ("unit", e["unit"] or "") if level == 0 else ("role", ladder(matter, level))
                start = raised.pop(matter, at) if level == 0 else at
                waits[matter] = Span(owner, min(start, at), past=matter in overdue)
            if matter in waits:
                w.waits.append(waits[matter])
        if kind in TERMINAL:
            for matter in list(waits):
                end_wait(matter, at)
    return w


@dataclass
class Tally:
    """Late working days by owner, over one or more tasks."""

    own: dict[Owner, int] = field(default_factory=dict)  # a window owner's own days
    waited: dict[Owner, int] = field(default_factory=dict)  # its late days taken by answers
    answering: dict[Owner, int] = field(default_factory=dict)  # an answerer's late days

    def add(self, into: dict[Owner, int], owner: Owner, n: int) -> None:
        if n:
            into[owner] = into.get(owner, 0) + n


def _norm(runs: Iterable[Run]) -> Runs:
    out: Runs = []
    for lo, hi in sorted(r for r in runs if r[1] > r[0]):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _and(a: Runs, b: Runs) -> Runs:
    out: Runs = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _minus(a: Runs, b: Runs) -> Runs:
    out: Runs = []
    for lo, hi in a:
        for blo, bhi in b:
            if bhi <= lo or blo >= hi:
                continue
            if blo > lo:
                out.append((lo, blo))
            lo = max(lo, bhi)
            if lo >= hi:
                break
        if lo < hi:
            out.append((lo, hi))
    return out


def _size(a: Runs) -> int:
    return sum(hi - lo for lo, hi in a)


def tally(w: Walk, days: Days, now: datetime, into: Tally) -> None:
    """Add one task's late days (`days(start, end)`: the run of working days counted for a
    span, already limited to the period) to `into`."""

    def of(spans: Iterable[Span]) -> Runs:
        return _norm(days(span.start, span.end or now) for span in spans)

    if not w.late and not any(span.past for span in w.waits):
        return  # a matter answered in time on a task not late: nobody's lateness
    if not w.waits and not w.suspended:  # most late tasks: their owners' days, no more
        for owner in {s.owner for s in w.late}:
            into.add(into.own, owner, _size(of(s for s in w.late if s.owner == owner)))
        return
    stopped = of(w.suspended)
    owners = {span.owner for span in w.waits}
    waiting = {o: _minus(of(s for s in w.waits if s.owner == o), stopped) for o in owners}
    past = {o: _minus(of(s for s in w.waits if s.owner == o and s.past), stopped) for o in owners}
    awaited = _norm(r for runs in waiting.values() for r in runs)
    late_by = {
        o: _minus(of(s for s in w.late if s.owner == o), stopped) for o in {s.owner for s in w.late}
    }
    late_any = _norm(r for runs in late_by.values() for r in runs)
    for owner, late in late_by.items():
        into.add(into.own, owner, _size(_minus(late, awaited)))
        into.add(into.waited, owner, _size(_and(late, awaited)))
    for owner, wait in waiting.items():
        into.add(into.answering, owner, _size(_norm(_and(wait, late_any) + past[owner])))
