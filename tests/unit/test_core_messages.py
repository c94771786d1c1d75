"""workflows.core.messages, rule by rule: what an accepted message changes, records and tells.

Every rule is run on a state the core itself made (tests/unit/core_kit.Shell), with a
recording Rules; each test checks the returned Decision and that the input state is
untouched (the core is pure)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.policies import HOURLY
from tests.unit.core_kit import (
    APPROVER,
    CO1,
    CO2,
    DEFAULT,
    LEAD,
    MONDAY,
    OFFICE,
    OUTSIDER,
    TASK_ID,
    Recording,
    Shell,
    at,
    dump,
    kinds,
    make_spec,
    msg,
    notices,
    records,
)
from workflows.contracts import Actor, Message, NoticeOutcome
from workflows.core import messages
from workflows.core.decision import AllRules, Count, Decision, Notify, Record, Replan, Watch
from workflows.core.refusals import refusal
from workflows.names import Action, EventKind, NoticeKind, Stage, Via


def decide(
    shell: Shell, action: Action, message: Message, off: tuple[str, ...] = ()
) -> tuple[Decision, Recording]:
    """The rule for an accepted message, checked pure and reporting each intent as decided."""
    assert refusal(action, message, shell.s, shell.now) is None
    rules = Recording(off)
    before = dump(shell.s)
    decision = messages.accept(shell.s, action, message, shell.now, rules)
    assert dump(shell.s) == before, "the rule changed its input state"
    assert rules.intents == decision.intents  # told as decided, in order
    return decision, rules


# ---- the stages (S2 §4–§8) ------------------------------------------------------------------

MOVES = [
    # from stage, action, message, new stage, event
    ("assigned", Action.RECEIVE, msg(text="已签收"), Stage.RECEIVED, EventKind.RECEIVED),
    ("received", Action.DEPLOY, msg(text="已部署"), Stage.DEPLOYED, EventKind.DEPLOYED),
    (
        "deployed",
        Action.REPORT,
        msg(kind="plan", text="实施计划"),
        Stage.PLANNED,
        EventKind.REPORTED_PLAN,
    ),
    (
        "planned",
        Action.REPORT,
        msg(kind="progress", text="完成调研"),
        Stage.IN_PROGRESS,
        EventKind.REPORTED_PROGRESS,
    ),
    (
        "in_progress",
        Action.REPORT,
        msg(kind="progress", text="完成起草"),
        Stage.IN_PROGRESS,
        EventKind.REPORTED_PROGRESS,
    ),
    (
        "planned",
        Action.REPORT,
        msg(kind="completion", text="已印发"),
        Stage.COMPLETED,
        EventKind.REPORTED_COMPLETION,
    ),
    (
        "in_progress",
        Action.REPORT,
        msg(kind="completion", text="已印发"),
        Stage.COMPLETED,
        EventKind.REPORTED_COMPLETION,
    ),
    ("completed", Action.VERIFY, msg(unit=OFFICE, text="核实"), Stage.CLOSED, EventKind.VERIFIED),
    (
        "completed",
        Action.REJECT,
        msg(unit=OFFICE, text="缺少印发文件"),
        Stage.IN_PROGRESS,
        EventKind.REJECTED,
    ),
    *[
        (
            stage,
            Action.WITHDRAW,
            msg(unit=OFFICE, text="任务调整"),
            Stage.WITHDRAWN,
            EventKind.WITHDRAWN,
        )
        for stage in ("assigned", "received", "deployed", "planned", "in_progress", "completed")
    ],
]


@pytest.mark.parametrize(
    ("start", "action", "message", "stage", "kind"),
    MOVES,
    ids=[f"{m[1].value}-{m[2].kind or ''}-from-{m[0]}" for m in MOVES],
)
def test_a_stage_moving_message_moves_the_stage_and_records_its_event_s2_4_to_8(
    start: str, action: Action, message: Message, stage: Stage, kind: EventKind
) -> None:
    """S2 §4–§8: receive, deploy, report, verify or reject, withdraw: one stage on, on record."""
    shell = Shell().through(start)
    shell.s = shell.s.model_copy(update={"extended_until": date(2026, 12, 31)})
    actor = Actor(person="zhang.san", role="member", unit=message.unit, via=Via.API)
    message = message.model_copy(update={"actor": actor})
    decision, _ = decide(shell.later(minutes=5), action, message)
    s = decision.state
    assert s.stage == stage
    assert s.advances == shell.s.advances + 1  # the climb's stop signal
    assert s.extended_until is None  # an extension is for the window it was asked in
    assert kinds(decision) == [kind]
    event = records(decision)[0].event
    assert (event.seq, event.at, event.stage) == (shell.s.seq + 1, shell.now, stage)
    assert (event.unit, event.by, event.detail) == (message.unit, "张三", message.text)
    assert (event.role, event.via) == ("member", Via.API)
    assert s.events[-1] == event and s.unrecorded[-1] == event
    assert s.last_report == (message.text if action == Action.REPORT else shell.s.last_report)
    assert s.rework_reason == (message.text if action == Action.REJECT else None)


def test_receipt_tells_the_lead_unit_s_head_the_same_day_s2_5() -> None:
    """S2 §5, S0 §1: the lead unit signs and its principal leader hears of it that day."""
    shell = Shell().later(minutes=30)
    decision, rules = decide(shell, Action.RECEIVE, msg(text="已签收，即日部署"))
    assert [type(i) for i in decision.intents] == [Record, Notify]
    assert rules.asked == ["tell-head-on-receipt"]
    (told,) = notices(decision)
    n = told.notice
    assert (n.role, n.unit, n.kind) == ("lead_unit", LEAD, NoticeKind.RECEIVED)
    assert (n.task_id, n.seq, n.level, n.title) == (
        TASK_ID,
        decision.state.seq,
        0,
        "完善行政执法协调机制",
    )
    assert n.about is not None
    assert (n.about.subject_unit, n.about.said) == (LEAD, "已签收，即日部署")
    assert n.quiet and n.urgency == "normal"  # the default policy keeps working hours
    assert n.facts["role"] == "牵头单位主要负责人"


def test_receipt_before_release_3_tells_no_one() -> None:
    decision, rules = decide(Shell(), Action.RECEIVE, msg(), off=("tell-head-on-receipt",))
    assert notices(decision) == [] and rules.asked == ["tell-head-on-receipt"]
    assert decision.state.stage == Stage.RECEIVED


def test_an_urgent_task_s_notices_do_not_wait_for_working_hours() -> None:
    shell = Shell(make_spec(urgency="urgent"))
    (told,) = notices(decide(shell, Action.RECEIVE, msg())[0])
    assert not told.notice.quiet and told.notice.urgency == "urgent"


@pytest.mark.parametrize("start", ["assigned", "received", "in_progress", "completed"])
def test_a_co_unit_s_receipt_is_recorded_and_moves_nothing_s0_6(start: str) -> None:
    """S0 §6: one lead unit; a co-unit signs for its part, and the stage stays."""
    shell = Shell().through(start)
    decision, rules = decide(shell, Action.RECEIVE, msg(unit=CO1, by="李四", text="收到"))
    s = decision.state
    assert (s.stage, s.advances, s.co_received) == (shell.s.stage, shell.s.advances, [CO1])
    assert kinds(decision) == [EventKind.CO_RECEIVED] and notices(decision) == []
    event = records(decision)[0].event
    assert (event.unit, event.by, event.detail) == (CO1, "李四", "收到")
    assert rules.asked == []
    again = messages.accept(s, Action.RECEIVE, msg(unit=CO2), shell.now, AllRules())
    assert again.state.co_received == [CO1, CO2]


def test_assigned_is_the_first_step_on_record_s2_4() -> None:
    """S2 §4: the task is handed out complete; its record starts there."""
    from workflows.contracts import TaskState

    state = TaskState(spec=make_spec(urgency="important"))
    before = dump(state)
    rules = Recording()
    decision = messages.assigned(state, "督查员", MONDAY, rules)
    assert dump(state) == before
    assert kinds(decision) == [EventKind.ASSIGNED]
    event = records(decision)[0].event
    assert (event.seq, event.unit, event.by, event.at) == (1, OFFICE, "督查员", MONDAY)
    assert decision.state.anchors == {EventKind.ASSIGNED: MONDAY}
    counts = [i for i in decision.intents if isinstance(i, Count)]
    assert counts == [Count("duban_tasks_started", "tasks started", (("urgency", "important"),))]


# ---- the ladder's answers: an acknowledgement holds the level ---------------------------------


def test_an_acknowledgement_holds_the_level_it_answers() -> None:
    """DOMAIN "Escalation": an acknowledgement (我已知悉并督办) stops the climb where it is."""
    shell = Shell(make_spec(HOURLY)).through("received")
    shell.miss()
    shell.step_up()
    shell.step_up()
    assert shell.s.escalation_level == 2
    decision, _ = decide(
        shell.later(minutes=10),
        Action.ACK,
        msg(by="王秘书", role="deputy_secretary_general", text="已督办"),
    )
    s = decision.state
    assert (s.acks, s.held_at_level, s.escalation_level) == (1, 2, 2)
    assert s.stage == shell.s.stage and s.advances == shell.s.advances  # nothing moves on
    assert kinds(decision) == [EventKind.ACKNOWLEDGED] and notices(decision) == []
    event = records(decision)[0].event
    assert (event.level, event.unit, event.detail) == (2, LEAD, "已督办")


# ---- urgency -----------------------------------------------------------------------------------


def test_raising_the_urgency_replans_the_windows_s2_5() -> None:
    """S2 §5, §7: urgent matters at once; the windows shorten, the ladder speeds up."""
    shell = Shell().through("received")
    decision, _ = decide(shell, Action.RAISE_URGENCY, msg(unit=OFFICE, urgency="urgent"))
    s = decision.state
    assert s.urgency == "urgent" and s.current_urgency == "urgent"
    assert kinds(decision) == [EventKind.URGENCY_RAISED]
    assert records(decision)[0].event.detail == "一般 → 紧急"
    assert [i for i in decision.intents if isinstance(i, Replan)] == [Replan("紧急程度提升为紧急")]
    assert s.window == shell.s.window  # the shell re-plans; the rule only asks


# ---- difficulty (S0 §3) ---------------------------------------------------------------------


def test_a_difficulty_opens_a_matter_for_the_office_and_watches_it_s0_3() -> None:
    """S0 §3: the office answers a difficulty within 3 working days, and is supervised."""
    shell = Shell().through("deployed")
    decision, _ = decide(shell, Action.DIFFICULTY, msg(text="经费不足"))
    s = decision.state
    assert kinds(decision) == [EventKind.DIFFICULTY_REPORTED]
    (m,) = s.matters
    assert m.key == f"difficulty:{s.seq}" and m.kind == "difficulty"
    assert (m.raised_by, m.unit, m.text, m.raised_at) == (LEAD, OFFICE, "经费不足", shell.now)
    assert m.ladder == [
        ("office", "3wd"),
        ("deputy_secretary_general", "1wd"),
        ("principal_leader", "2wd"),
    ]
    assert (m.level, m.deadline, m.resolved) == (0, None, False)
    assert decision.intents[-1] == Watch(m.key)


def test_an_urgent_difficulty_is_answered_sooner_on_the_urgent_ladder() -> None:
    shell = Shell(make_spec(urgency="urgent")).through("received")
    (m,) = decide(shell, Action.DIFFICULTY, msg(text="难"))[0].state.matters
    assert m.ladder == [
        ("office", "1wd"),
        ("deputy_secretary_general", "4h"),
        ("principal_leader", "1wd"),
    ]


def answered(decision_text: str, text: str = "") -> tuple[Shell, Decision, Recording]:
    shell = Shell().through("planned")
    shell.s = shell.s.model_copy(update={"extended_until": date(2026, 12, 31)})
    shell.send(Action.DIFFICULTY, msg(text="经费不足"))
    shell.later(hours=2)
    message = msg(unit=OFFICE, by="赵主任", decision=decision_text, text=text)
    decision, rules = decide(shell, Action.ANSWER_DIFFICULTY, message)
    return shell, decision, rules


@pytest.mark.parametrize(
    ("answer", "text", "resolution", "events"),
    [
        ("continue", "", "继续执行", [EventKind.DIFFICULTY_ANSWERED]),
        ("continue", "按原计划", "继续执行：按原计划", [EventKind.DIFFICULTY_ANSWERED]),
        (
            "suspend",
            "待预算批复",
            "暂停执行：待预算批复",
            [EventKind.DIFFICULTY_ANSWERED, EventKind.SUSPENDED],
        ),
        (
            "new_approach",
            "改为分批实施",
            "调整思路：改为分批实施",
            [EventKind.DIFFICULTY_ANSWERED, EventKind.NEW_APPROACH],
        ),
    ],
)
def test_the_office_s_answer_to_a_difficulty_s0_3(
    answer: str, text: str, resolution: str, events: list[EventKind]
) -> None:
    """S0 §3: continue, suspend, or carry on by a new approach."""
    shell, decision, rules = answered(answer, text)
    s = decision.state
    (m,) = s.matters
    assert (m.resolved, m.resolution) == (True, resolution)
    assert kinds(decision) == events
    assert records(decision)[0].event.detail == resolution
    assert notices(decision) == []
    if answer == "continue":
        assert s.stage == Stage.PLANNED and s.suspended_at is None
        assert s.replans == shell.s.replans and rules.asked == []
    if answer == "suspend":  # every clock stops from now
        assert s.suspended_at == shell.now and s.replans == shell.s.replans + 1
        assert s.stage == Stage.PLANNED and s.advances == shell.s.advances
        assert s.next_deadline is None and s.light(shell.now) == "grey"
    if answer == "new_approach":  # a new plan is due, counted from now
        assert s.stage == Stage.DEPLOYED and s.advances == shell.s.advances + 1
        assert s.extended_until is None and rules.asked == ["new-approach-clears-extension"]
        assert s.anchors[EventKind.NEW_APPROACH] == shell.now


def test_a_new_approach_before_release_1_kept_the_old_extension() -> None:
    shell = Shell().through("planned")
    shell.s = shell.s.model_copy(update={"extended_until": date(2026, 12, 31)})
    shell.send(Action.DIFFICULTY, msg(text="经费不足"))
    message = msg(unit=OFFICE, decision="new_approach", text="分批")
    decision, _ = decide(
        shell, Action.ANSWER_DIFFICULTY, message, off=("new-approach-clears-extension",)
    )
    assert decision.state.extended_until == date(2026, 12, 31)


def test_resume_moves_every_clock_by_the_pause_s0_3() -> None:
    """S0 §3: a suspended task's clocks stood still: the window, its warning, the level's
    answer window and every open matter's answer window move on by the pause."""
    shell = Shell(make_spec(HOURLY)).through("received")  # 11:00; deploy due 12:00
    shell.later(minutes=10).send(Action.DIFFICULTY, msg(text="经费不足"))
    difficulty = shell.s.matters[0].key
    shell.open_level(difficulty)
    shell.later(minutes=10).send(Action.DISAGREE, msg(unit=CO1, text="分担有分歧"))
    disagreement = shell.s.matters[1].key
    shell.open_level(disagreement)
    shell.miss()
    shell.step_up()  # level 1, answer by 13:00
    shell.to(at(11, 23, 12, 30))
    shell.send(Action.ANSWER_DIFFICULTY, msg(unit=OFFICE, decision="suspend", text="待批复"))
    before = shell.s
    w0 = before.window
    assert w0 is not None and before.level_deadline == at(11, 23, 13)
    assert (w0.deadline, w0.warn_at) == (at(11, 23, 12), at(11, 23, 11, 30))
    open_deadline = before.matters[1].deadline
    assert open_deadline is not None

    shell.to(at(11, 24, 14, 30))  # 26 hours later
    decision, rules = decide(shell, Action.RESUME, msg(unit=OFFICE, by="赵主任", text="预算已批"))
    s = decision.state
    pause = timedelta(hours=26)
    w = s.window
    assert w is not None
    assert s.suspended_at is None and s.replans == before.replans + 1
    assert (w.deadline, w.warn_at, w.paused) == (at(11, 24, 14), at(11, 24, 13, 30), 93600.0)
    assert s.level_deadline == at(11, 24, 15)
    assert s.matters[0].deadline == before.matters[0].deadline  # answered: its clock stopped
    assert (s.matters[1].deadline, s.matters[1].paused) == (open_deadline + pause, 93600.0)
    assert rules.asked == ["matters-pause"]
    assert kinds(decision) == [EventKind.RESUMED]
    event = records(decision)[0].event
    assert event.detail == "暂停 26 小时 00 分；预算已批"
    assert event.deadline == w.deadline
    # Before release 1 a matter's clock ran on through a suspension.
    old, _ = decide(shell, Action.RESUME, msg(unit=OFFICE), off=("matters-pause",))
    assert old.state.matters[1].deadline == open_deadline
    assert records(old)[0].event.detail == "暂停 26 小时 00 分"


# ---- more time ----------------------------------------------------------------------------------


def test_a_request_for_more_time_goes_to_the_approver() -> None:
    policy = DEFAULT.model_copy(update={"extension_approver": APPROVER})
    shell = Shell(make_spec(policy)).through("planned")
    message = msg(text="需跨部门协调", until=date(2026, 12, 18))
    decision, _ = decide(shell, Action.REQUEST_EXTENSION, message)
    s = decision.state
    assert kinds(decision) == [EventKind.EXTENSION_REQUESTED]
    assert records(decision)[0].event.detail == "申请延期至 2026-12-18：需跨部门协调"
    (m,) = s.matters
    assert (m.kind, m.unit, m.until, m.raised_by) == (
        "extension",
        APPROVER,
        date(2026, 12, 18),
        LEAD,
    )
    assert m.ladder[0] == ("office", "3wd") and m.key == f"extension:{s.seq}"
    assert decision.intents[-1] == Watch(m.key)


@pytest.mark.parametrize("due", [None, date(2026, 12, 4)])
def test_an_approved_extension_moves_the_due_date_and_replans(due: date | None) -> None:
    shell = Shell(make_spec(due=due)).through("planned")
    shell.send(Action.REQUEST_EXTENSION, msg(text="需协调", until=date(2026, 12, 18)))
    message = msg(unit=OFFICE, decision="approve", text="同意")
    decision, _ = decide(shell.later(hours=1), Action.DECIDE_EXTENSION, message)
    s = decision.state
    assert s.extended_until == date(2026, 12, 18)
    assert s.current_due == (date(2026, 12, 18) if due else None)
    assert (s.matters[0].resolved, s.matters[0].resolution) == (True, "同意：同意")
    assert kinds(decision) == [EventKind.EXTENSION_APPROVED]
    assert records(decision)[0].event.detail == "同意延期至 2026-12-18"
    assert decision.intents[-1] == Replan(f"{OFFICE}同意延期至 2026-12-18")


def test_a_refused_extension_changes_no_deadline() -> None:
    shell = Shell(make_spec(due=date(2026, 12, 4))).through("planned")
    shell.send(Action.REQUEST_EXTENSION, msg(text="需协调", until=date(2026, 12, 18)))
    message = msg(unit=OFFICE, decision="refuse", text="理由不充分")
    decision, _ = decide(shell, Action.DECIDE_EXTENSION, message)
    s = decision.state
    assert (s.extended_until, s.current_due) == (None, date(2026, 12, 4))
    assert s.matters[0].resolution == "不同意：理由不充分"
    assert kinds(decision) == [EventKind.EXTENSION_REFUSED]
    assert records(decision)[0].event.detail == "理由不充分"
    assert not [i for i in decision.intents if isinstance(i, Replan)]


# ---- co-units and disagreements (S0 §6, §7; S2 §11) ----------------------------------------


def test_a_co_unit_s_contribution_goes_to_the_lead_unit_s0_6() -> None:
    shell = Shell().through("in_progress")
    shell.send(Action.RECEIVE, msg(unit=CO2))
    decision, _ = decide(shell, Action.CONTRIBUTE, msg(unit=CO2, by="钱七", text="已完成测算"))
    assert decision.state.contributions == 1
    assert kinds(decision) == [EventKind.CONTRIBUTED]
    (told,) = notices(decision)
    n = told.notice
    assert (n.role, n.unit, n.kind, n.seq) == (
        "lead_unit",
        LEAD,
        NoticeKind.CONTRIBUTION,
        decision.state.seq,
    )
    assert n.about is not None and (n.about.subject_unit, n.about.said) == (CO2, "已完成测算")


def test_a_disagreement_climbs_the_coordination_ladder_s0_7_s2_11() -> None:
    """S0 §7, S2 §11: the office → the leader in charge → the principal leader."""
    shell = Shell().through("deployed")
    decision, _ = decide(shell, Action.DISAGREE, msg(unit=CO1, text="经费分担有分歧"))
    (m,) = decision.state.matters
    assert kinds(decision) == [EventKind.DISAGREEMENT_RAISED]
    assert (m.kind, m.raised_by, m.unit) == ("disagreement", CO1, OFFICE)
    assert m.ladder == [("office", "3wd"), ("leader_in_charge", "3wd"), ("principal_leader", "5wd")]
    assert decision.intents[-1] == Watch(m.key)


@pytest.mark.parametrize(
    ("misses", "unit", "role", "label"),
    [
        (0, OFFICE, None, "办公室"),
        (1, LEAD, "leader_in_charge", "分管领导"),
        (2, OFFICE, "principal_leader", "主要领导"),
    ],
)
def test_a_resolution_is_recorded_with_who_resolved_it(
    misses: int, unit: str, role: str | None, label: str
) -> None:
    shell = Shell().through("deployed")
    shell.send(Action.DISAGREE, msg(unit=CO1, text="经费分担有分歧"))
    key = shell.s.matters[0].key
    for _ in range(misses):
        shell.open_level(key)
        shell.matter_missed(key)
    decision, _ = decide(shell, Action.RESOLVE, msg(unit=unit, role=role, text="按比例分担"))
    m = decision.state.matters[0]
    assert (m.resolved, m.resolution, m.level) == (True, "按比例分担", misses)
    assert kinds(decision) == [EventKind.DISAGREEMENT_RESOLVED]
    assert records(decision)[0].event.detail == f"{label}：按比例分担"


# ---- refused signals, carried-over state ------------------------------------------------------


def test_a_refused_signal_is_recorded_and_moves_nothing() -> None:
    shell = Shell().through("received")
    message = msg(unit=OUTSIDER, by="王五")
    reason = shell.refused(Action.DEPLOY, message)
    before = dump(shell.s)
    decision = messages.refused(shell.s, Action.DEPLOY, message, reason, shell.now, AllRules())
    assert dump(shell.s) == before
    s = decision.state
    assert (s.stage, s.advances, s.seq) == (shell.s.stage, shell.s.advances, shell.s.seq + 1)
    assert kinds(decision) == [EventKind.REFUSED]
    event = records(decision)[0].event
    assert (event.unit, event.by) == (OUTSIDER, "王五")
    assert event.detail == f"拒绝报送部署情况：{reason}"


def test_carried_over_keeps_the_latest_events_and_notifications() -> None:
    shell = Shell().through("in_progress")
    outcomes = [
        NoticeOutcome(
            seq=i, role="lead_unit", unit=LEAD, channel="webhook", status="delivered", attempts=1
        )
        for i in range(7)
    ]
    state = shell.s.model_copy(update={"notifications": outcomes})
    assert len(state.events) > 4
    before = dump(state)
    carried = messages.carried_over(state, 4)
    assert dump(state) == before
    assert [e.seq for e in carried.events] == [e.seq for e in state.events[-4:]]
    assert [e.detail for e in carried.events] == [e.detail for e in state.events[-4:]]
    assert [n.seq for n in carried.notifications] == [3, 4, 5, 6]
    assert carried.runs == state.runs + 1
    assert (carried.stage, carried.seq, carried.window) == (state.stage, state.seq, state.window)
    assert carried.anchors == state.anchors  # the windows still open from the right times


def test_every_rule_leaves_its_input_alone_over_a_whole_life() -> None:
    # A task's whole life through the shell: each decision's state is a new object, and
    # every state the shell held still reads as it did when it was made.
    shell = Shell(make_spec(HOURLY))
    seen: list[tuple[object, dict[str, object]]] = [(shell.s, dump(shell.s))]

    def keep() -> None:
        seen.append((shell.s, dump(shell.s)))

    shell.through("received")
    keep()
    shell.miss()
    keep()
    shell.step_up()
    keep()
    shell.send(Action.ACK, msg())
    keep()
    shell.send(Action.DEPLOY, msg(text="部署"))
    keep()
    shell.send(Action.WITHDRAW, msg(unit=OFFICE, text="撤回"))
    keep()
    for state, dumped in seen:
        assert dump(state) == dumped  # type: ignore[arg-type]


def test_carried_over_clips_long_texts_and_keeps_the_latest_answered_matters() -> None:
    """A year-long task stays small whatever its units wrote; the ledger keeps every word."""
    shell = Shell(make_spec(HOURLY)).through("planned")
    for i in range(12):
        shell.send(Action.DISAGREE, msg(unit=CO1, text=f"分歧{i}"))
        shell.send(Action.RESOLVE, msg(unit=OFFICE, text=f"协调{i}"))
    long = "进" * (messages.CARRIED_TEXT + 500)
    shell.send(Action.REPORT, msg(kind="progress", text=long))
    shell.send(Action.DIFFICULTY, msg(text="经费不足"))
    carried = messages.carried_over(shell.s, 50)
    assert [m.resolution for m in carried.matters if m.resolved] == [
        f"协调{i}" for i in range(2, 12)
    ]
    assert [m.text for m in carried.matters if not m.resolved] == ["经费不足"]
    assert carried.last_report is not None and len(carried.last_report) == messages.CARRIED_TEXT
    assert carried.last_report.endswith("…")
    clipped = next(e for e in carried.events if e.kind == EventKind.REPORTED_PROGRESS)
    assert len(clipped.detail) == messages.CARRIED_TEXT
    assert shell.s.last_report == long  # the running state keeps it whole


def test_a_running_task_keeps_its_latest_events_and_counts_on() -> None:
    from workflows.core.decision import LIVE_EVENTS

    shell = Shell(make_spec(HOURLY)).through("received")
    state = messages.accept(shell.s, Action.RECEIVE, msg(unit=CO1), shell.now, AllRules()).state
    first = state.seq
    for _ in range(LIVE_EVENTS + 5):
        message = msg(unit=CO1, text="进展")
        state = messages.accept(state, Action.CONTRIBUTE, message, shell.now, AllRules()).state
    assert state.seq == first + LIVE_EVENTS + 5 and state.contributions == LIVE_EVENTS + 5
    assert len(state.events) == LIVE_EVENTS
    assert [e.seq for e in state.events] == list(range(state.seq - LIVE_EVENTS + 1, state.seq + 1))
    assert len(state.unrecorded) > LIVE_EVENTS  # the ledger still gets every one
