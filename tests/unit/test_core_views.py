"""What people read of a task, in the office's words: the Web UI's current details in every
state a task passes through, every event detail the core writes, and the summaries the
shell gives its activities and timers. None holds an English word (the preamble: everything
a person reads is correct Chinese), once the task id and the test's own free text are gone.

Also views.view/snapshot: the values ops filter on."""

from __future__ import annotations

import ast
import asyncio
import re
from datetime import date, datetime
from pathlib import Path

import pytest

from tests.policies import HOURLY
from tests.unit.core_kit import (
    CO1,
    DEFAULT,
    LEAD,
    OFFICE,
    TASK_ID,
    Shell,
    at,
    make_spec,
    msg,
    notices,
    records,
)
from workflows import effects as shell_effects
from workflows.contracts import Notice, TaskState
from workflows.core import climb, deadlines, delivery, messages, views
from workflows.core.decision import AllRules, Decision, Record, Replan
from workflows.names import Action, EventKind, NoticeKind, Stage
from workflows.policy import ROLE_LABELS
from workflows.windows import (
    ACTION_LABELS,
    LABELS,
    LIGHT_LABELS,
    REPORT_LABELS,
    STAGE_LABELS,
    URGENCY_LABELS,
    local,
)

ENGLISH = re.compile(r"[A-Za-z]{2,}")
# Every free text the tests below put into a task: what a unit wrote is its own.
FREE = [
    "已签收",
    "已部署",
    "实施计划",
    "完成调研",
    "协调办法已印发",
    "核实无误",
    "收到",
    "督办",
    "经费不足",
    "待预算批复",
    "预算已批",
    "需跨部门协调",
    "同意",
    "已完成测算",
    "经费分担有分歧",
    "按比例分担",
    "缺少印发文件",
    "补充印发文件",
    "任务调整",
    "改为分批实施",
    "理由不充分",
    "号码无效",
]


def english(text: str) -> list[str]:
    """The English words left once the task id and the test's free texts are taken out."""
    for known in [TASK_ID, *sorted(FREE, key=len, reverse=True)]:
        text = text.replace(known, "")
    return ENGLISH.findall(text)


# ---- every state a task passes through ---------------------------------------------------------


def tour() -> tuple[list[Shell], dict[str, tuple[TaskState, datetime]]]:
    """Tasks taken through every kind of step, each shell keeping every decision it made,
    and the states the tests below read, by name, as they stood with the time then."""
    shells: list[Shell] = []
    seen: dict[str, tuple[TaskState, datetime]] = {}

    def keep(name: str, shell: Shell) -> None:
        seen[name] = (shell.s, shell.now)
        if shell not in shells:
            shells.append(shell)

    # 1. On time to the end, through a rework, a co-unit, a contribution and a disagreement.
    a = Shell()
    a.later(minutes=5).send(Action.RECEIVE, msg(unit=CO1, text="收到"))
    a.through("received")
    a.later(minutes=5).send(Action.DISAGREE, msg(unit=CO1, text="经费分担有分歧"))
    key = a.s.matters[-1].key
    a.open_level(key)
    a.matter_missed(key)
    a.open_level(key)
    a.send(Action.RESOLVE, msg(role="leader_in_charge", text="按比例分担"))
    a.later(minutes=5).send(Action.CONTRIBUTE, msg(unit=CO1, text="已完成测算"))
    a.through("completed")
    a.later(hours=1).send(Action.REJECT, msg(unit=OFFICE, text="缺少印发文件"))
    a.later(hours=1).send(Action.REPORT, msg(kind="completion", text="补充印发文件"))
    a.later(hours=1).send(Action.VERIFY, msg(unit=OFFICE, text="核实无误"))
    keep("closed", a)

    # 2. Late: warned, missed, the whole climb, an acknowledgement held, reminders spent.
    b = Shell(make_spec(DEFAULT.model_copy(update={"max_reminders": 1}))).through("received")
    b.warn()
    b.miss()
    for _ in range(3):
        b.step_up()
    b.later(minutes=30).send(Action.ACK, msg(role="principal_leader", text="督办"))
    b.hold()
    b.step_up()
    b.stall()
    keep("stalled", b)

    # 3. A difficulty suspends the task, an extension is granted, the urgency is raised.
    c = Shell(make_spec(due=date(2026, 12, 31))).through("planned")
    c.later(hours=1).send(Action.DIFFICULTY, msg(text="经费不足"))
    key = c.s.matters[-1].key
    c.open_level(key)
    c.matter_missed(key)
    c.open_level(key)
    c.later(hours=1).send(
        Action.ANSWER_DIFFICULTY, msg(unit=OFFICE, decision="suspend", text="待预算批复")
    )
    keep("suspended", c)
    c.later(days=2).send(Action.RESUME, msg(unit=OFFICE, text="预算已批"))
    c.later(hours=1).send(
        Action.REQUEST_EXTENSION, msg(text="需跨部门协调", until=date(2027, 1, 29))
    )
    c.send(Action.DECIDE_EXTENSION, msg(unit=OFFICE, decision="approve", text="同意"))
    raised = c.later(hours=1).send(Action.RAISE_URGENCY, msg(unit=OFFICE, urgency="urgent"))
    (replan,) = [i for i in raised.intents if isinstance(i, Replan)]
    w = c.s.window
    assert w is not None
    span = deadlines.replan_span(c.s)
    new = c.window_deadline(w.name, w.opened_at, span)
    c.state(deadlines.move_window(c.s, new, span))
    c.apply(deadlines.replanned(c.s, w.deadline, new, replan.reason, c.now, c.rules))
    keep("urgent", c)

    # 4. A new approach, a refused extension, then withdrawn.
    d = Shell(make_spec(HOURLY)).through("in_progress")
    d.send(Action.REQUEST_EXTENSION, msg(text="需跨部门协调", until=date(2026, 12, 18)))
    d.send(Action.DECIDE_EXTENSION, msg(unit=OFFICE, decision="refuse", text="理由不充分"))
    d.send(Action.DIFFICULTY, msg(text="经费不足"))
    d.later(minutes=10).send(
        Action.ANSWER_DIFFICULTY, msg(unit=OFFICE, decision="new_approach", text="改为分批实施")
    )
    d.later(minutes=10).send(Action.WITHDRAW, msg(unit=OFFICE, text="任务调整"))
    keep("withdrawn", d)

    # 5. Into a year without a published calendar.
    keep("fallback", Shell(now=at(12, 31, 10)))
    return shells, seen


def extra_decisions(shell: Shell) -> list[Decision]:
    """What the tour's shells do not make: a failed delivery, a refused signal."""
    escalation = next(dd for dd in shell.decisions if notices(dd))
    failed: Notice = notices(escalation)[0].notice
    return [
        delivery.undelivered(shell.s, failed, "号码无效", shell.now, AllRules()),
        messages.refused(shell.s, Action.DEPLOY, msg(unit=CO1), "拒收", shell.now, AllRules()),
    ]


SHELLS, STATES = tour()


def every_record() -> list[Record]:
    shells = SHELLS
    decisions = [dd for shell in shells for dd in shell.decisions]
    decisions += extra_decisions(shells[1])
    return [r for dd in decisions for r in records(dd)]


RECORDS = every_record()


def test_the_tour_writes_every_kind_of_event() -> None:
    # So the checks below read every event detail the core writes, and every state.
    assert {r.event.kind for r in RECORDS} == set(EventKind)


@pytest.mark.parametrize("kind", sorted(EventKind))
def test_every_event_detail_is_in_chinese(kind: EventKind) -> None:
    details = [r.event.detail for r in RECORDS if r.event.kind == kind]
    assert details
    for detail in details:
        assert english(detail) == [], detail


def test_a_refused_signal_s_detail_is_in_chinese() -> None:
    shell = Shell()
    reason = shell.refused(Action.DEPLOY, msg())
    decision = messages.refused(shell.s, Action.DEPLOY, msg(), reason, shell.now, AllRules())
    detail = records(decision)[0].event.detail
    assert detail == f"拒绝报送部署情况：{reason}"
    assert english(detail) == []


def test_every_current_details_the_core_publishes_is_in_chinese() -> None:
    """Each event's view: the task as ops saw it right then, in every state of the tour."""
    assert len(RECORDS) > 70
    for r in RECORDS:
        assert english(r.view.details) == [], r.view.details


def test_the_notices_template_fields_are_in_chinese() -> None:
    told = [n.notice for shell in SHELLS for dd in shell.decisions for n in notices(dd)]
    assert {n.kind for n in told} >= {
        NoticeKind.RECEIVED,
        NoticeKind.WARNING,
        NoticeKind.ESCALATION,
        NoticeKind.COPY,
        NoticeKind.REMINDER,
        NoticeKind.MATTER,
        NoticeKind.CONTRIBUTION,
        NoticeKind.STALLED,
    }
    for n in told:
        for field in ("role", "window", "expected", "answer_by"):
            assert english(n.facts.get(field, "")) == [], (field, n.facts)


def test_the_labels_are_in_chinese() -> None:
    for table in (
        LABELS,
        ROLE_LABELS,
        STAGE_LABELS,
        LIGHT_LABELS,
        URGENCY_LABELS,
        messages.DECISION_LABELS,
        ACTION_LABELS,
        REPORT_LABELS,
    ):
        for value in table.values():
            assert english(value) == [] and value, value


# ---- the details, state by state ----------------------------------------------------------------


def details(shell: Shell) -> str:
    return views.view(shell.s, shell.now).details


@pytest.mark.parametrize(
    ("stage", "label", "window"),
    [
        ("assigned", "待签收", "签收"),
        ("received", "已签收", "部署"),
        ("deployed", "已部署", "计划反馈"),
        ("planned", "已报计划", "进展反馈"),
        ("in_progress", "推进中", "阶段进展反馈"),
        ("completed", "待核实", "核实销号"),
    ],
)
def test_each_stage_reads_with_its_window_and_rule(stage: str, label: str, window: str) -> None:
    shell = Shell().through(stage)
    text = details(shell)
    w = shell.s.window
    assert w is not None
    assert text.startswith(f"**阶段** {label}　**灯色** 绿灯　**紧急程度** 一般")
    assert f"**当前时限** {window} {local(w.deadline)}（{w.rule}）" in text
    assert "**升级层级** 0　**逾期次数** 0" in text
    assert english(text) == []


def test_yellow_inside_the_warning_margin() -> None:
    shell = Shell().through("received")
    w = shell.s.window
    assert w is not None and w.warn_at is not None
    assert "**灯色** 绿灯" in details(shell)
    assert "**灯色** 黄灯" in details(shell.to(w.warn_at))


@pytest.mark.parametrize("steps", [1, 2, 3, 4])
def test_during_a_climb_the_deadline_is_the_level_s_answer_not_the_missed_window(
    steps: int,
) -> None:
    shell = Shell().through("received")
    shell.miss()
    for _ in range(steps):
        shell.step_up()
    s = shell.s
    w = s.window
    assert w is not None and s.level_deadline is not None
    role = ROLE_LABELS[climb.current_rung(s).level]
    text = details(shell)
    assert f"**当前时限** {role}答复 {local(s.level_deadline)}" in text
    assert "**当前时限** 部署" not in text
    assert "（自 " not in text  # the window's rule is not the level's
    assert f"**已逾期** 部署（应于 {local(w.deadline)} 前）" in text
    assert f"**升级层级** {s.escalation_level}　**逾期次数** 1" in text
    assert f"**已通知** {role}（第 {s.escalation_level} 级）" in text
    assert "**灯色** 红灯" in text
    assert english(text) == []


def test_a_held_level_and_an_urgent_task() -> None:
    shell = Shell(make_spec(urgency="urgent")).through("received")
    shell.miss()
    shell.step_up()
    shell.step_up()
    shell.later(minutes=10).send(Action.ACK, msg(role="deputy_secretary_general"))
    shell.hold()
    text = details(shell)
    assert "**紧急程度** 紧急" in text
    assert f"**当前时限** 副秘书长答复 {local(shell.s.level_deadline or shell.now)}" in text


def named(name: str) -> str:
    state, now = STATES[name]
    return views.view(state, now).details


def test_suspended_fallback_and_the_last_report() -> None:
    suspended = named("suspended")
    assert "**灯色** 灰灯" in suspended and "**已暂停** 自 " in suspended
    assert "**最近报告** 实施计划" in suspended
    fallback = named("fallback")
    assert "**日历** 无官方日历，按周一至周五推算" in fallback
    assert "**日历**" not in suspended


@pytest.mark.parametrize(("name", "label"), [("closed", "已办结"), ("withdrawn", "已撤回")])
def test_a_closed_or_withdrawn_task_has_no_deadline(name: str, label: str) -> None:
    state, _ = STATES[name]
    text = named(name)
    assert text.startswith(f"**阶段** {label}　**灯色** 绿灯")
    assert state.next_deadline is None and " —" in text


def test_a_long_report_is_cut_to_eighty_characters() -> None:
    shell = Shell().through("deployed")
    long = "完成" * 60
    shell.send(Action.REPORT, msg(kind="plan", text=long))
    assert f"**最近报告** {long[:80]}" in details(shell)
    assert long[:81] not in details(shell)


def test_view_values_and_snapshot() -> None:
    shell = Shell().through("received")
    shell.miss()
    shell.step_up()
    v = views.view(shell.s, shell.now)
    assert v.values == {
        "stage": "received",
        "level": 1,
        "deadline": shell.s.level_deadline,
        "light": "red",
        "urgency": "normal",
        "fallback": False,
    }
    snap = views.snapshot(shell.s)
    assert snap.updated_at == shell.s.unrecorded[-1].at == shell.now
    assert (snap.stage, snap.escalation_level, snap.light) == (Stage.RECEIVED, 1, "red")
    assert snap.next_deadline == shell.s.level_deadline and snap.spec == shell.s.spec


# ---- the shell's words: activity and timer summaries ------------------------------------------

SHELL_FILES = [
    Path(shell_effects.__file__).parent / n for n in ("task.py", "effects.py", "digest.py")
]
# Calls whose last positional argument is a summary: _sleep_until(at, mark, replans, what),
# ask_calendar(name, request, result_type, summary).
SUMMARY_ARGS = {"_sleep_until": 3, "ask_calendar": 3}


def summaries() -> list[tuple[str, ast.expr]]:
    found = []
    for path in SHELL_FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for kw in node.keywords:
                if kw.arg in ("summary", "timeout_summary"):
                    found.append((path.name, kw.value))
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in SUMMARY_ARGS and len(node.args) > SUMMARY_ARGS[name]:
                found.append((path.name, node.args[SUMMARY_ARGS[name]]))
    return found


def test_the_shell_s_summaries_are_chinese_templates() -> None:
    found = summaries()
    words = []
    for where, expr in found:
        if isinstance(expr, ast.Name):  # passed through: its callers' literals are checked
            continue
        texts = [
            n.value
            for n in ast.walk(expr)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        ]
        # Each template says something in Chinese, and no English word.
        assert any(re.search(r"[\u4e00-\u9fff]", t) for t in texts) or texts == [" "], (
            where,
            ast.unparse(expr),
        )
        words += [(where, w) for text in texts for w in ENGLISH.findall(text)]
    assert len(found) >= 12
    assert words == []


@pytest.mark.parametrize("role", list(ROLE_LABELS))
def test_an_activity_names_whom_it_tells_in_chinese(role: str) -> None:
    notice = Notice(
        task_id=TASK_ID, seq=3, title="标题", level=1, role=role, unit=LEAD, kind=NoticeKind.COPY
    )
    said = shell_effects._recipient(notice)
    assert english(said) == [] and said
    assert said == {"lead_unit": LEAD, "co_unit": LEAD, "office": f"{LEAD}（办公室）"}.get(
        role, ROLE_LABELS[role]
    )


def test_a_plain_duration_rule_reads_in_chinese() -> None:
    found = asyncio.run(shell_effects.Effects(None).deadline(at(11, 23), "4h"))  # type: ignore[arg-type]
    assert re.search(r"[A-Za-z]", found.rule) is None, found.rule
