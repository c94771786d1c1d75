"""Which messages a person may send a task from a page, and the form each one needs.

Who may send what is activities.authz's, as for the API; what the task takes now is the
task's own rules. On a task's page the task's state is at hand and each message is checked
against those rules (workflows.core.refusals) before its button is shown. The desk lists
many tasks from the ledger, without asking each workflow: there the stage, the escalation
level and the matters the ledger's events leave open decide, and the task itself still
answers (a refusal comes back in one line) if the ledger is a moment behind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import structlog

from activities import authz
from activities.directory import Directory
from workflows.contracts import Message, TaskState
from workflows.core import refusals
from workflows.limits import LAST_DAY
from workflows.names import TERMINAL_STAGES, Action, Stage
from workflows.windows import DECISION_LABELS, URGENCY_LABELS

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Form:
    """One message's form: its button, and what it asks besides."""

    key: str  # the action, or report:<kind>
    label: str
    text: str = ""  # the text box's label; "" for none
    text_required: bool = False
    decisions: tuple[tuple[str, str], ...] = ()
    until: bool = False  # a date: request_extension
    urgency: bool = False  # a choice of urgency: raise_urgency
    primary: bool = True  # on the desk, shown at once; else under 更多办理事项
    danger: bool = False

    @property
    def action(self) -> Action:
        return Action(self.key.partition(":")[0])

    @property
    def kind(self) -> str | None:
        return self.key.partition(":")[2] or None


def _decisions(values: tuple[str, ...], labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((v, labels[v]) for v in values)


FORMS: dict[str, Form] = {
    f.key: f
    for f in (
        Form("receive", "签收"),
        Form("deploy", "报送部署情况", text="部署情况（可不填）"),
        Form("report:plan", "报送实施计划", text="实施计划", text_required=True),
        Form("report:progress", "报送进展情况", text="进展情况", text_required=True),
        Form("report:completion", "报送完成情况", text="完成情况", text_required=True),
        Form("verify", "核实销号", text="核实意见（可不填）"),
        Form("reject", "退回重办", text="退回理由", text_required=True, danger=True),
        Form("ack", "我已知悉并督办"),
        Form(
            "answer_difficulty",
            "答复执行困难",
            text="答复意见（可不填）",
            decisions=_decisions(refusals.DIFFICULTY_ANSWERS, DECISION_LABELS),
        ),
        Form(
            "decide_extension",
            "审批延期申请",
            text="审批意见（可不填）",
            decisions=(("approve", "同意延期"), ("refuse", "不同意延期")),
        ),
        Form("resolve", "提交协调意见", text="协调意见", text_required=True),
        Form("contribute", "报送协办情况", text="协办情况", text_required=True, primary=False),
        Form("difficulty", "报告执行困难", text="困难情况", text_required=True, primary=False),
        Form(
            "request_extension",
            "申请延期",
            text="延期理由",
            text_required=True,
            until=True,
            primary=False,
        ),
        Form("disagree", "提出意见分歧", text="分歧所在", text_required=True, primary=False),
        Form("raise_urgency", "提升紧急程度", urgency=True, primary=False),
        Form("resume", "恢复执行"),
        Form(
            "withdraw", "撤回任务", text="撤回理由", text_required=True, primary=False, danger=True
        ),
    )
}


@dataclass(frozen=True)
class Offer:
    """A form the person may send, for one unit, in one role."""

    form: Form
    unit: str
    role: str
    stand_in_for: str | None
    many: bool = False  # the person may send it for more than one unit: the button says which
    urgencies: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        return f"{self.form.label}（{self.unit}）" if self.many else self.form.label


def _offers(form: Form, standings: list[authz.Standing], current_urgency: str) -> list[Offer]:
    units = {s.unit for s in standings}
    seen: set[str] = set()
    out = []
    for s in standings:
        if s.unit in seen:
            continue
        seen.add(s.unit)
        above = tuple(
            (u, URGENCY_LABELS[u])
            for u in ("important", "urgent")
            if ("normal", "important", "urgent").index(u)
            > ("normal", "important", "urgent").index(current_urgency)
        )
        out.append(Offer(form, s.unit, s.role, s.stand_in_for, len(units) > 1, above))
    return out


def for_state(
    state: TaskState, directory: Directory, person: str, now: datetime, day: date
) -> list[Offer]:
    """Every form the person may send the task now: theirs to send (authz) and taken by
    the task as it stands (its refusal rules, asked with a sample of the message)."""
    facts = authz.TaskFacts.of_state(state)
    found: list[Offer] = []
    for form in FORMS.values():
        standings = authz.standings(directory, person, form.action, facts, day)
        taken = [s for s in standings if _taken(form, s, state, person, now)]
        found += _offers(form, taken, state.current_urgency)
    return found


def _taken(form: Form, s: authz.Standing, state: TaskState, person: str, now: datetime) -> bool:
    sample = Message(
        unit=s.unit,
        by=person,
        text="预检" if form.text else "",
        kind=form.kind,
        role=s.message_role,
        decision=form.decisions[0][0] if form.decisions else None,
        until=LAST_DAY if form.until else None,
        urgency="urgent" if form.urgency else None,
    )
    try:
        return refusals.refusal(form.action.value, sample, state, now) is None
    except Exception as err:  # the rules changed under us: let the task answer instead
        log.warning("offers: the task's rules could not be asked", error=str(err))
        return True


@dataclass(frozen=True)
class LedgerTask:
    """What the desk knows of a task from the ledger: its row and its open matters."""

    row: dict[str, Any]
    co_signed: frozenset[str]
    difficulty: bool
    extension: bool
    disagreement: bool
    suspended: bool
    level_role: str | None

    @property
    def stage(self) -> Stage:
        return Stage(self.row["stage"])

    @property
    def urgency(self) -> str:
        return str(self.row["current_urgency"] or self.row["urgency"])

    def facts(self, approver: str) -> authz.TaskFacts:
        r = self.row
        late = r["assigning_unit"] if self.stage == Stage.COMPLETED else r["lead_unit"]
        return authz.TaskFacts(
            id=r["id"],
            assigning_unit=r["assigning_unit"],
            lead_unit=r["lead_unit"],
            co_units=tuple(r["co_units"]),
            level=r["escalation_level"],
            level_role=self.level_role,
            late_unit=late,
            approver=approver,
        )

    def candidates(self) -> list[str]:
        """The forms the task would take now, as far as the ledger tells."""
        stage = self.stage
        if stage in TERMINAL_STAGES:
            return []
        keys = [k for k, at in refusals.ACCEPTED_AT.items() if stage in at]
        if self.suspended:
            keys = ["withdraw", "resume"]
        if self.row["escalation_level"] and not self.suspended:
            keys.append("ack")
        if self.difficulty:
            keys.append("answer_difficulty")
        if self.extension:
            keys.append("decide_extension")
        if self.disagreement:
            keys.append("resolve")
        if self.suspended:
            return keys
        keys.append("contribute")
        if stage in refusals.WORKING:
            keys += [] if self.difficulty else ["difficulty"]
            keys += [] if self.extension else ["request_extension"]
        if not self.disagreement:
            keys.append("disagree")
        if self.urgency != "urgent":
            keys.append("raise_urgency")
        return keys


def for_ledger(
    task: LedgerTask, approver: str, directory: Directory, person: str, day: date
) -> list[Offer]:
    """The forms the person may send this task, from the ledger (the desk's list)."""
    facts = task.facts(approver)
    found: list[Offer] = []
    co = set(task.row["co_units"])
    for key in task.candidates():
        form = FORMS[key]
        standings = authz.standings(directory, person, form.action, facts, day)
        if key == "receive":  # the lead signs at its stage; a co-unit once, at any stage
            standings = [s for s in standings if s.unit not in co]
        found += _offers(form, standings, task.urgency)
    if task.stage not in TERMINAL_STAGES and not task.suspended:
        unsigned = co - task.co_signed
        standings = authz.standings(directory, person, Action.RECEIVE, facts, day)
        signing = [s for s in standings if s.unit in unsigned]
        found += _offers(FORMS["receive"], signing, task.urgency)
    # A co-unit contributes once it has signed.
    return [o for o in found if o.form.key != "contribute" or o.unit in task.co_signed]
