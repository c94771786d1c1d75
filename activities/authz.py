"""Who may send which message to a task, and who may see it: pure rules over the directory,
the caller and the task's facts (docs/procedure.md). The HTTP service asks them for every
request; the acting unit and role come from here, never from the request.

- lead-unit messages: the lead unit's head (unit_head) or a member (经办人);
- a co-unit's own receipt, contribution and disagreement: its head or a member;
- assigning-unit messages: the office, or a member of the assigning unit; an extension
  decided by a named unit: that unit's head or a member;
- ack: the holder of the role at the task's current level, for the late unit;
- resolve: the holder at the disagreement's level;
- the holder's stand-in while the holder is away (缺位递补), recorded as such.
A person with several ways to act names the unit when they are for different units."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from activities.directory import DIRECTORY_ROLE_LABELS, Directory, Seat
from workflows.contracts import TaskSpec, TaskState
from workflows.core.refusals import no_disagreement, not_escalated, not_theirs, what
from workflows.names import Action
from workflows.policy import ROLE_LABELS

WHOLE = "*"  # the unit of roles held once for the whole office

LEAD_ACTIONS = frozenset(
    {
        Action.RECEIVE,
        Action.DEPLOY,
        Action.REPORT,
        Action.DIFFICULTY,
        Action.REQUEST_EXTENSION,
        Action.DISAGREE,
    }
)
CO_ACTIONS = frozenset({Action.RECEIVE, Action.CONTRIBUTE, Action.DISAGREE})
ASSIGNING_ACTIONS = frozenset(
    {
        Action.VERIFY,
        Action.REJECT,
        Action.WITHDRAW,
        Action.RAISE_URGENCY,
        Action.RESUME,
        Action.ANSWER_DIFFICULTY,
    }
)
# Roles that see every task: the office and the principal leader.
SEE_ALL = frozenset({"office", "principal_leader"})
# Roles held for a unit that cover it rather than work in it: 「分管区司法局的副秘书长」.
COVERING = frozenset({"deputy_secretary_general", "leader_in_charge"})


@dataclass(frozen=True)
class TaskFacts:
    """What the rules need to know of a task, as it stands now."""

    id: str
    assigning_unit: str
    lead_unit: str
    co_units: tuple[str, ...] = ()
    level: int = 0  # the escalation level; 0 when not escalated
    level_role: str | None = None  # the ladder's role at that level
    late_unit: str = ""  # the unit whose window was missed (the window's owner)
    disagreement_role: str | None = None  # who answers the open disagreement now
    approver: str = ""  # the unit that decides a request for more time

    @property
    def units(self) -> frozenset[str]:
        return frozenset({self.assigning_unit, self.lead_unit, *self.co_units})

    @staticmethod
    def of_spec(spec: TaskSpec) -> TaskFacts:
        named = spec.policy.extension_approver
        return TaskFacts(
            id=spec.id,
            assigning_unit=spec.assigning_unit,
            lead_unit=spec.lead_unit,
            co_units=tuple(spec.co_units),
            late_unit=spec.lead_unit,
            approver=spec.assigning_unit if named == "assigning_unit" else named,
        )

    @staticmethod
    def of_state(state: TaskState) -> TaskFacts:
        facts = TaskFacts.of_spec(state.spec)
        level_role = None
        if state.escalation_level:
            ladder = state.spec.policy.ladder_for(state.current_urgency)
            level_role = ladder[min(state.escalation_level, len(ladder)) - 1].level
        matter = state.open_matter("disagreement")
        return replace(
            facts,
            level=state.escalation_level,
            level_role=level_role,
            late_unit=state.window.owner_unit if state.window else state.spec.lead_unit,
            disagreement_role=matter.ladder[matter.level][0] if matter else None,
        )


@dataclass(frozen=True)
class Standing:
    """One way the caller may send the message: for `unit`, in the directory role `role`
    (perhaps as stand-in for an absent holder), with the message role the task's rules
    check for an acknowledgement or a resolution."""

    unit: str
    role: str
    stand_in_for: str | None = None
    message_role: str | None = None


class Refusal(Exception):
    """Not this caller's to do: `status` 403 (not theirs) or 400 (name the unit)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _who(roles: tuple[str, ...], units: list[str]) -> str:
    """「区财政局、区人社局主要负责人或经办人」, 「分管区司法局的副秘书长」,
    「区司法局的分管领导」, 「办公室」."""
    names = "或".join(DIRECTORY_ROLE_LABELS.get(r, r) for r in roles)
    held = "、".join(u for u in units if u != WHOLE)
    if not held:
        return names
    if COVERING.issuperset(roles):
        return f"{held}的{names}" if names.startswith("分管") else f"分管{held}的{names}"
    return f"{held}{names}"


def _wanted(action: Action, facts: TaskFacts) -> list[tuple[str, tuple[str, ...], str, str | None]]:
    """(message unit, directory roles, the unit those roles are held for, message role)."""
    wanted: list[tuple[str, tuple[str, ...], str, str | None]] = []
    if action in LEAD_ACTIONS:
        wanted.append((facts.lead_unit, ("unit_head", "member"), facts.lead_unit, None))
    if action in CO_ACTIONS:
        wanted += [(u, ("unit_head", "member"), u, None) for u in facts.co_units]
    if action in ASSIGNING_ACTIONS or (
        action == Action.DECIDE_EXTENSION and facts.approver == facts.assigning_unit
    ):
        wanted.append((facts.assigning_unit, ("office",), WHOLE, None))
        wanted.append((facts.assigning_unit, ("member",), facts.assigning_unit, None))
    elif action == Action.DECIDE_EXTENSION:
        wanted.append((facts.approver, ("unit_head", "member"), facts.approver, None))
    if action == Action.ACK and facts.level_role is not None:
        role = {"lead_unit": "unit_head"}.get(facts.level_role, facts.level_role)
        held_for = WHOLE if role == "principal_leader" else facts.late_unit
        wanted.append((facts.late_unit, (role,), held_for, facts.level_role))
    if action == Action.RESOLVE and facts.disagreement_role is not None:
        role = facts.disagreement_role
        if role == "office":
            wanted.append((facts.assigning_unit, ("office",), WHOLE, role))
        else:
            held_for = WHOLE if role == "principal_leader" else facts.lead_unit
            wanted.append((facts.lead_unit, (role,), held_for, role))
    return wanted


def standings(
    directory: Directory, person: str, action: Action, facts: TaskFacts, day: date
) -> list[Standing]:
    """Every way `person` may send `action` to the task on `day`: their own seats first."""
    seats = directory.seats(person, day)
    found: list[Standing] = []
    for unit, roles, held_for, message_role in _wanted(action, facts):
        for role in roles:
            for seat in seats:
                if (seat.role, seat.unit) == (role, held_for):
                    found.append(Standing(unit, role, seat.stand_in_for, message_role))
    return sorted(found, key=lambda s: s.stand_in_for is not None)


def decide(
    directory: Directory,
    person: str,
    action: Action,
    facts: TaskFacts,
    day: date,
    unit: str | None = None,
) -> Standing:
    """The one way `person` sends `action`, or a Refusal saying why not (403) or asking
    which unit (400). `unit` is the caller's `?unit=` when they act for several."""
    found = standings(directory, person, action, facts, day)
    if not found:
        raise Refusal(403, _not_theirs(person, action, facts))
    if unit is not None:
        found = [s for s in found if s.unit == unit]
        if not found:
            raise Refusal(403, f"{person}无权代表{unit}{what(action)}（任务 {facts.id}）")
    units = sorted({s.unit for s in found})
    if len(units) > 1:
        raise Refusal(
            400,
            f"{person}可以代表{'或'.join(units)}{what(action)}（任务 {facts.id}）："
            "请用 ?unit= 指明代表哪个单位",
        )
    return found[0]


def wrong_role(person: str, action: Action, task_id: str, standing: Standing, named: str) -> str:
    """Why a caller who named a role (`"role": ...`) other than the one they hold for this
    acknowledgement or resolution is refused (403): the role they may send it in, to type."""
    held = standing.message_role or ""
    return (
        f"{person}只能以{ROLE_LABELS.get(held, held)}（{held}）身份{what(action)}"
        f"（任务 {task_id}），不能以{ROLE_LABELS.get(named, named)}（{named}）身份"
    )


def may_assign(directory: Directory, person: str, assigning_unit: str, day: date) -> Standing:
    """Who may start a task for `assigning_unit`: the office, or a member of that unit."""
    for seat in directory.seats(person, day):
        if (seat.role, seat.unit) in (("office", WHOLE), ("member", assigning_unit)):
            return Standing(assigning_unit, seat.role, seat.stand_in_for)
    raise Refusal(
        403,
        f"{person}无权以{assigning_unit}名义交办任务："
        f"只有{DIRECTORY_ROLE_LABELS['office']}或{assigning_unit}"
        f"{DIRECTORY_ROLE_LABELS['member']}可以交办",
    )


def _not_theirs(person: str, action: Action, facts: TaskFacts) -> str:
    if action == Action.ACK and facts.level_role is None:
        return not_escalated(facts.id)
    if action == Action.RESOLVE and facts.disagreement_role is None:
        return no_disagreement(facts.id)
    held: dict[tuple[str, ...], list[str]] = {}
    for _, roles, held_for, _ in _wanted(action, facts):
        units = held.setdefault(roles, [])
        if held_for not in units:
            units.append(held_for)
    who = [_who(roles, units) for roles, units in held.items()]
    return not_theirs(person, action, facts.id, "或".join(who))


def may_see(directory: Directory, person: str, facts: TaskFacts, day: date) -> bool:
    """A task is seen by the units on it (assigning, lead, co-units) and those who cover
    them (deputy secretaries-general, leaders in charge), and by the office and the
    principal leader; by a stand-in as by the absent holder."""
    units = facts.units
    return any(
        seat.role in SEE_ALL if seat.unit == WHOLE else seat.unit in units
        for seat in directory.seats(person, day)
    )


def visible_units(directory: Directory, person: str, day: date) -> frozenset[str] | None:
    """The units whose tasks `person` sees; None when they see every task."""
    units: set[str] = set()
    for seat in directory.seats(person, day):
        if seat.unit == WHOLE:
            if seat.role in SEE_ALL:
                return None
            continue
        units.add(seat.unit)
    return frozenset(units)


__all__ = [
    "Refusal",
    "Seat",
    "Standing",
    "TaskFacts",
    "decide",
    "may_assign",
    "may_see",
    "standings",
    "visible_units",
    "wrong_role",
]
