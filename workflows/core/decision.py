"""What a rule returns: the new state and the intents, built step by step on a copy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from workflows.contracts import Actor, Event, Notice, NoticeFacts, TaskState
from workflows.core.views import View, view
from workflows.names import EventKind, NoticeKind
from workflows.policy import ROLE_LABELS, Recipient
from workflows.windows import ANCHORS, LABELS, local


class Rules(Protocol):
    """What runs the core. It says which patches of the workflow's logic apply to this task
    (workflows.releases), and it is told each intent the moment it is decided.

    For a task older than a patch the shell answers with `workflow.patched`, which writes a
    marker into history where it is asked. Replay checks the markers' places among the other
    commands (an upsert of the search attributes for a recorded event is one), so the shell
    carries each intent out as it comes, and a marker keeps its place."""

    def has(self, patch: str) -> bool: ...

    def decided(self, intent: Intent) -> None: ...


class AllRules:
    """Every patch on, the intents left in the Decision: the unit tests' runner."""

    def has(self, patch: str) -> bool:
        return True

    def decided(self, intent: Intent) -> None:
        pass


# Events a running task keeps in its state, for its story and the status query: however
# long a task runs between continue-as-news, its state stays small.
LIVE_EVENTS = 200


@dataclass(frozen=True)
class Record:
    """An event joins the task's record; ops' view of the task as it stood right then."""

    event: Event
    view: View


@dataclass(frozen=True)
class Notify:
    notice: Notice


@dataclass(frozen=True)
class Replan:
    """Recompute the pending deadlines (the calendar, the urgency or an extension moved)."""

    reason: str


@dataclass(frozen=True)
class Watch:
    """Start watching a matter's answer window."""

    key: str


@dataclass(frozen=True)
class Count:
    metric: str
    what: str
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Warn:
    """A line for the worker's log (silent while the workflow replays)."""

    message: str


Intent = Record | Notify | Replan | Watch | Count | Warn


@dataclass
class Decision:
    state: TaskState
    intents: list[Intent] = field(default_factory=list)


def fork(state: TaskState) -> TaskState:
    """A copy the rule may change: the containers it changes are copied, the events and
    the spec (never changed once made) are shared."""
    return state.model_copy(
        update={
            "window": state.window.model_copy() if state.window else None,
            "matters": [m.model_copy() for m in state.matters],
            "co_received": list(state.co_received),
            "anchors": dict(state.anchors),
            "events": list(state.events),
            "unrecorded": list(state.unrecorded),
            "notifications": list(state.notifications),
        }
    )


class Step:
    """One rule at work: a copy of the state, the time, and the intents so far."""

    def __init__(self, state: TaskState, now: datetime, rules: Rules) -> None:
        self.s = fork(state)
        self.now = now
        self.rules = rules
        self.intents: list[Intent] = []

    def has(self, patch: str) -> bool:
        return self.rules.has(patch)

    def emit(
        self,
        kind: EventKind,
        *,
        unit: str | None = None,
        by: str | None = None,
        detail: str = "",
        level: int = 0,
        deadline: datetime | None = None,
        actor: Actor | None = None,
    ) -> Event:
        self.s.seq += 1
        event = Event(
            seq=self.s.seq,
            at=self.now,
            kind=kind,
            stage=self.s.stage,
            unit=unit,
            by=by,
            detail=detail,
            level=level,
            deadline=deadline,
            role=actor.role if actor else None,
            via=actor.via if actor else None,
            stand_in_for=actor.stand_in_for if actor else None,
        )
        self.s.events.append(event)
        del self.s.events[:-LIVE_EVENTS]  # the ledger has them all; the state the latest
        self.s.unrecorded.append(event)
        if kind in ANCHORS:
            self.s.anchors[kind] = event.at
        self.add(Record(event, view(self.s, self.now)))
        return event

    def notify(
        self,
        event: Event,
        role: Recipient,
        unit: str,
        kind: NoticeKind,
        about: NoticeFacts,
        avoid: tuple[str, ...] = (),
    ) -> None:
        urgent = self.s.current_urgency == "urgent"
        self.add(
            Notify(
                Notice(
                    task_id=self.s.spec.id,
                    seq=event.seq,
                    title=self.s.spec.title,
                    level=event.level,
                    role=role,
                    unit=unit,
                    kind=kind,
                    deadline=event.deadline,
                    quiet=self.s.spec.policy.quiet_hours and not urgent,
                    urgency=self.s.current_urgency,
                    facts=_facts(self.s, event, role),
                    about=about,
                    avoid=list(avoid),
                )
            )
        )

    def add(self, intent: Intent) -> None:
        self.intents.append(intent)
        self.rules.decided(intent)

    def decision(self) -> Decision:
        return Decision(self.s, self.intents)


def _facts(s: TaskState, event: Event, role: Recipient) -> dict[str, str]:
    """The template fields of release 2, for the office's templates written for them."""
    facts = {
        "role": ROLE_LABELS[role],
        "answer_by": local(event.deadline) if event.deadline else "",
    }
    if s.window is not None:
        facts.update(
            window=LABELS[s.window.name],
            expected=s.window.awaiting,
            window_deadline_iso=s.window.deadline.isoformat(),
        )
    return facts
