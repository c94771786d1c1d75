"""workflows.core.refusals, table by table: which message each stage takes and from whom
(action × stage × sender), and why the others are refused, in one line.

Seeds: S2 §4–§8 (the stages), S0 §6 (one lead unit; co-units follow it), S0 §3 (a
difficulty within 5 working days, answered by the office), S0 §7 / S2 §11 (disagreements),
DOMAIN "Escalation" (an acknowledgement holds the late unit's level)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

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
    Shell,
    at,
    dump,
    make_spec,
    msg,
)
from workflows.contracts import Matter, Message, TaskState, Window
from workflows.core.refusals import refusal
from workflows.names import Action, Stage
from workflows.policy import Policy
from workflows.windows import ACTION_LABELS, STAGE_LABELS

SENDERS = {"lead": LEAD, "office": OFFICE, "co": CO1, "outsider": OUTSIDER}

# The stage-moving messages: who sends each, and the stages that take it (S2 §4–§8),
# written out here rather than read from the code under test.
MOVES: dict[str, tuple[Action, dict[str, str], str, frozenset[Stage]]] = {
    "receive": (Action.RECEIVE, {}, LEAD, frozenset({Stage.ASSIGNED})),
    "deploy": (Action.DEPLOY, {}, LEAD, frozenset({Stage.RECEIVED})),
    "report plan": (Action.REPORT, {"kind": "plan"}, LEAD, frozenset({Stage.DEPLOYED})),
    "report progress": (
        Action.REPORT,
        {"kind": "progress"},
        LEAD,
        frozenset({Stage.PLANNED, Stage.IN_PROGRESS}),
    ),
    "report completion": (
        Action.REPORT,
        {"kind": "completion"},
        LEAD,
        frozenset({Stage.PLANNED, Stage.IN_PROGRESS}),
    ),
    "verify": (Action.VERIFY, {}, OFFICE, frozenset({Stage.COMPLETED})),
    "reject": (Action.REJECT, {}, OFFICE, frozenset({Stage.COMPLETED})),
    "withdraw": (
        Action.WITHDRAW,
        {},
        OFFICE,
        frozenset(set(Stage) - {Stage.CLOSED, Stage.WITHDRAWN}),
    ),
}


# How each is named in its refusal, and the stage it is taken at, as an office reads it.
DOING = {
    "receive": "签收",
    "deploy": "报送部署情况",
    "report plan": "报送计划报告",
    "report progress": "报送进展报告",
    "report completion": "报送完成报告",
    "verify": "核实销号",
    "reject": "退回重办",
    "withdraw": "撤回任务",
}
WANTED = {
    "receive": "签收应在“待签收”阶段进行",
    "deploy": "部署情况应在“已签收”阶段报送",
    "report plan": "计划报告应在“已部署”阶段报送",
    "report progress": "进展报告应在“已报计划”或“推进中”阶段报送",
    "report completion": "完成报告应在“已报计划”或“推进中”阶段报送",
    "verify": "核实销号应在“待核实”阶段进行",
    "reject": "退回重办应在“待核实”阶段进行",
}


def state_at(stage: Stage, **fields: object) -> TaskState:
    return TaskState(spec=make_spec(), stage=stage, **fields)


def expected(name: str, stage: Stage, unit: str) -> str | None:
    """What the table says of one message at one stage from one unit: None when it is
    taken, else the key words of its refusal."""
    action, _, sender, stages = MOVES[name]
    if stage in (Stage.CLOSED, Stage.WITHDRAWN):
        return f"任务 {TASK_ID} {STAGE_LABELS[stage]}，不再办理任何事项"
    if action == Action.RECEIVE and unit == CO1:
        return None  # a co-unit signs for its part at any stage (S0 §6)
    doing = DOING[name]
    if unit != sender:
        return f"{unit}无权{doing}：任务 {TASK_ID} 只有{sender}可以{doing}"
    if stage not in stages:
        return f"任务 {TASK_ID} 处于“{STAGE_LABELS[stage]}”阶段；{WANTED[name]}"
    return None


@pytest.mark.parametrize("name", list(MOVES))
def test_stage_moving_messages_by_stage_and_sender_s2_4_to_8(name: str) -> None:
    """S2 §4–§8: each stage awaits one message from one unit; the rest are refused, in one
    line. One row per stage and sender; every row that disagrees is listed."""
    action, extra, _, _ = MOVES[name]
    wrong = []
    for stage in Stage:
        state = state_at(stage)
        before = dump(state)
        for who, unit in SENDERS.items():
            want = expected(name, stage, unit)
            reason = refusal(action, msg(unit=unit, text="说明", **extra), state, MONDAY)
            ok = reason == want
            if not ok or (reason is not None and "\n" in reason):
                wrong.append((stage.value, who, want, reason))
        assert dump(state) == before
    assert wrong == []


def test_a_co_unit_signs_once_s0_6() -> None:
    """S0 §6: co-units sign for the task; a second receipt from the same co-unit is refused."""
    state = state_at(Stage.PLANNED, co_received=[CO1])
    assert refusal(Action.RECEIVE, msg(unit=CO1), state, MONDAY) == (
        f"{CO1}已签收任务 {TASK_ID}，无需重复签收"
    )
    assert refusal(Action.RECEIVE, msg(unit=CO2), state, MONDAY) is None


@pytest.mark.parametrize(
    ("action", "extra", "noun"),
    [
        (Action.REPORT, {"kind": "progress"}, "报告内容为空：请写明做了哪些工作"),
        (Action.REJECT, {}, "退回意见内容为空：请写明退回理由"),
        (Action.WITHDRAW, {}, "撤回说明内容为空：请写明撤回理由"),
        (Action.DIFFICULTY, {}, "执行困难内容为空：请写明执行中遇到的困难"),
        (Action.REQUEST_EXTENSION, {"until": date(2026, 12, 31)}, "延期申请内容为空：请写明"),
        (Action.CONTRIBUTE, {}, "协办情况内容为空：请写明做了哪些工作"),
        (Action.DISAGREE, {}, "意见分歧内容为空：请写明分歧所在"),
        (Action.RESOLVE, {}, "协调意见内容为空：请写明如何解决"),
    ],
)
def test_messages_that_must_say_something_refuse_an_empty_text(
    action: Action, extra: dict[str, object], noun: str
) -> None:
    """S2 §8: a report is a full report; a reason is given (S2 §9: the record is trusted)."""
    state = state_at(Stage.COMPLETED)
    reason = refusal(action, msg(text="", **extra), state, MONDAY)
    assert reason is not None and reason.startswith(noun)
    assert refusal(action, msg(text=" \t ", **extra), state, MONDAY) is not None


def test_a_report_names_its_kind_s2_7() -> None:
    reason = refusal(Action.REPORT, msg(text="进展"), state_at(Stage.PLANNED), MONDAY)
    assert reason == (
        "报告须注明类别：计划报告（plan）、进展报告（progress）或完成报告（completion）"
    )


# ---- a suspended task (S0 §3) --------------------------------------------------------------

WHILE_SUSPENDED = {
    Action.RESUME,
    Action.WITHDRAW,
    Action.ANSWER_DIFFICULTY,
    Action.RESOLVE,
    Action.DISAGREE,
    Action.DECIDE_EXTENSION,
}


def test_a_suspended_task_takes_only_the_office_s_and_coordination_s0_3() -> None:
    """S0 §3: the office suspended the task; every clock stands still, the work waits."""
    state = state_at(Stage.IN_PROGRESS, suspended_at=MONDAY)
    wrong = []
    for action in Action:
        reason = refusal(action, msg(text="说明", kind="progress"), state, MONDAY)
        suspended = f"任务 {TASK_ID} 已由办公室暂停执行，恢复执行前不能{ACTION_LABELS[action]}"
        if action in WHILE_SUSPENDED:
            ok = reason is None or "已由办公室暂停执行" not in reason
        else:
            ok = reason == suspended
        if not ok:
            wrong.append((action.value, reason))
    assert wrong == []


# ---- acknowledgements: the late unit's level, by its role -----------------------------------


def escalated(
    level: int,
    stage: Stage = Stage.RECEIVED,
    owner: str = LEAD,
    policy: Policy = DEFAULT,
    held: int = 0,
    urgency: str = "normal",
) -> TaskState:
    window = Window(
        name="deploy",
        awaiting="报送部署情况",
        owner_unit=owner,
        opened_at=MONDAY,
        deadline=MONDAY + timedelta(days=3),
        rule="",
        stage=stage,
        missed=level > 0,
    )
    return TaskState(
        spec=make_spec(policy, urgency=urgency),
        stage=stage,
        window=window,
        escalation_level=level,
        level_deadline=MONDAY + timedelta(days=4) if level else None,
        held_at_level=held,
    )


NOT_ESCALATED = f"任务 {TASK_ID} 未升级督办，无需确认"
MISS_OF = "无权确认任务 " + TASK_ID + " 第 {level} 级督办：逾期的是{owner}"
CANNOT = (
    "任务 " + TASK_ID + " 处于第 {level} 级督办，应由{rung}确认（--role {role}）；{who}不能确认"
)
LEAD_HEAD, DEPUTY, PRINCIPAL = "牵头单位主要负责人", "副秘书长", "主要领导"


@pytest.mark.parametrize(
    ("level", "unit", "role", "want"),
    [
        # Level 0: nothing to acknowledge, whoever asks.
        (0, LEAD, None, NOT_ESCALATED),
        (0, LEAD, "lead_unit", NOT_ESCALATED),
        (0, OFFICE, "deputy_secretary_general", NOT_ESCALATED),
        # Level 1: the lead unit's head, with or without naming the role.
        (1, LEAD, None, None),
        (1, LEAD, "lead_unit", None),
        (
            1,
            LEAD,
            "deputy_secretary_general",
            CANNOT.format(level=1, rung=LEAD_HEAD, role="lead_unit", who=DEPUTY),
        ),
        (1, CO1, None, MISS_OF.format(level=1, owner=LEAD)),
        (1, OFFICE, None, MISS_OF.format(level=1, owner=LEAD)),
        (1, OUTSIDER, "lead_unit", MISS_OF.format(level=1, owner=LEAD)),
        # Level 2: the deputy secretary-general, for the late unit; the lead unit's own
        # acknowledgement is not the deputy's to give.
        (2, LEAD, "deputy_secretary_general", None),
        (
            2,
            LEAD,
            None,
            CANNOT.format(level=2, rung=DEPUTY, role="deputy_secretary_general", who="牵头单位"),
        ),
        (
            2,
            LEAD,
            "lead_unit",
            CANNOT.format(level=2, rung=DEPUTY, role="deputy_secretary_general", who=LEAD_HEAD),
        ),
        (
            2,
            LEAD,
            "principal_leader",
            CANNOT.format(level=2, rung=DEPUTY, role="deputy_secretary_general", who=PRINCIPAL),
        ),
        # "ack at level 2 from a unit that has nothing to do with the task"
        (2, OUTSIDER, "deputy_secretary_general", MISS_OF.format(level=2, owner=LEAD)),
        (2, CO1, "deputy_secretary_general", MISS_OF.format(level=2, owner=LEAD)),
        (2, OFFICE, "deputy_secretary_general", MISS_OF.format(level=2, owner=LEAD)),
        (
            2,
            OUTSIDER,
            None,
            CANNOT.format(level=2, rung=DEPUTY, role="deputy_secretary_general", who="牵头单位"),
        ),
        # Level 3: the principal leader, for the late unit.
        (3, LEAD, "principal_leader", None),
        (
            3,
            LEAD,
            "deputy_secretary_general",
            CANNOT.format(level=3, rung=PRINCIPAL, role="principal_leader", who=DEPUTY),
        ),
        (3, OUTSIDER, "principal_leader", MISS_OF.format(level=3, owner=LEAD)),
    ],
)
def test_ack_holds_only_the_late_unit_s_level_by_its_role(
    level: int, unit: str, role: str | None, want: str | None
) -> None:
    """DOMAIN "Escalation": an acknowledgement stops the climb at its level; it is the level's
    holder's (S2 §4 第一责任人, S0 §8 副秘书长), for the unit that missed, no other."""
    state = escalated(level)
    reason = refusal(Action.ACK, msg(unit=unit, role=role), state, MONDAY)
    if want is None:
        assert reason is None
    else:
        assert reason is not None and want in reason, reason


def test_ack_of_a_missed_verification_is_the_office_s() -> None:
    """S2 §8: verification is the assigning unit's window; its miss is the office's."""
    state = escalated(1, stage=Stage.COMPLETED, owner=OFFICE)
    assert refusal(Action.ACK, msg(unit=OFFICE), state, MONDAY) is None
    reason = refusal(Action.ACK, msg(unit=LEAD), state, MONDAY)
    assert reason is not None and MISS_OF.format(level=1, owner=OFFICE) in reason


def test_ack_twice_at_one_level_is_refused_and_the_next_level_may_ack() -> None:
    state = escalated(2, held=2)
    reason = refusal(Action.ACK, msg(role="deputy_secretary_general"), state, MONDAY)
    assert reason == "第 2 级（副秘书长）已确认此次逾期，无需重复确认"
    assert refusal(Action.ACK, msg(role="principal_leader"), escalated(3, held=2), MONDAY) is None


def test_ack_follows_the_ladder_of_the_current_urgency() -> None:
    # A two-rung ladder for urgent tasks: level 2 is the principal leader's.
    policy = Policy.model_validate(
        {
            **DEFAULT.model_dump(),
            "urgent": {
                "escalation": [
                    {"level": "lead_unit", "answer_within": "4h"},
                    {"level": "principal_leader", "answer_within": "4h"},
                ]
            },
        }
    )
    state = escalated(2, policy=policy, urgency="urgent")
    assert refusal(Action.ACK, msg(role="principal_leader"), state, MONDAY) is None
    reason = refusal(Action.ACK, msg(role="deputy_secretary_general"), state, MONDAY)
    assert (
        reason is not None and "第 2 级督办，应由主要领导确认（--role principal_leader）" in reason
    )


# ---- the other messages, each with its own rules ---------------------------------------------


def test_raise_urgency_is_the_office_s_and_only_raises() -> None:
    state = state_at(Stage.RECEIVED)
    assert refusal(Action.RAISE_URGENCY, msg(unit=OFFICE, urgency="urgent"), state, MONDAY) is None
    assert refusal(Action.RAISE_URGENCY, msg(urgency="urgent"), state, MONDAY) == (
        f"{LEAD}无权提升紧急程度：任务 {TASK_ID} 只有{OFFICE}可以提升紧急程度"
    )
    assert refusal(Action.RAISE_URGENCY, msg(unit=OFFICE), state, MONDAY) == (
        "请注明紧急程度：重要（important）或紧急（urgent）"
    )
    important = state_at(Stage.RECEIVED, urgency="important")
    for lower in ("normal", "important"):
        reason = refusal(Action.RAISE_URGENCY, msg(unit=OFFICE, urgency=lower), important, MONDAY)
        assert reason == f"任务 {TASK_ID} 的紧急程度已是“重要”，只能提升"


@pytest.mark.parametrize(
    ("stage", "ok"),
    [
        (Stage.ASSIGNED, False),
        (Stage.RECEIVED, True),
        (Stage.DEPLOYED, True),
        (Stage.PLANNED, True),
        (Stage.IN_PROGRESS, True),
        (Stage.COMPLETED, False),
    ],
)
def test_difficulty_and_extension_are_raised_while_at_work_s0_3(stage: Stage, ok: bool) -> None:
    """S0 §3: a difficulty is reported after receipt, while the unit carries the task out."""
    state = state_at(stage)
    difficulty = refusal(Action.DIFFICULTY, msg(text="经费不足"), state, MONDAY)
    extension = refusal(
        Action.REQUEST_EXTENSION, msg(text="需协调", until=date(2026, 12, 31)), state, MONDAY
    )
    if ok:
        assert difficulty is None and extension is None
    else:
        at_work = "“已签收”“已部署”“已报计划”或“推进中”"
        now_at = f"任务 {TASK_ID} 处于“{STAGE_LABELS[stage]}”阶段"
        assert difficulty == f"{now_at}；执行困难应在{at_work}阶段报告"
        assert extension == f"{now_at}；延期应在{at_work}阶段申请"


def test_difficulty_within_its_window_from_the_lead_unit_once_s0_3() -> None:
    """S0 §3: within 5 working days of receipt, by the lead unit, one at a time."""
    shell = Shell().through("received")
    until = shell.s.difficulty_until
    # Received Monday 11:00: five working days on is Monday 30 November, 18:00.
    assert until == at(11, 30, 18)
    assert shell.refused(Action.DIFFICULTY, msg(unit=CO1, text="难")) == (
        f"{CO1}无权报告执行困难：任务 {TASK_ID} 只有{LEAD}可以报告执行困难"
    )
    assert refusal(Action.DIFFICULTY, msg(text="难"), shell.s, until) is None
    late = refusal(Action.DIFFICULTY, msg(text="难"), shell.s, until + timedelta(minutes=1))
    assert late == f"任务 {TASK_ID} 报告执行困难的期限已于 2026-11-30 18:00 截止"
    shell.send(Action.DIFFICULTY, msg(text="经费不足"))
    assert shell.refused(Action.DIFFICULTY, msg(text="又一个")) == (
        f"任务 {TASK_ID} 已有一项执行困难待办公室答复"
    )


def test_answer_difficulty_by_the_office_with_a_known_answer_s0_3() -> None:
    shell = Shell().through("received")
    assert shell.refused(Action.ANSWER_DIFFICULTY, msg(unit=OFFICE, decision="continue")) == (
        f"任务 {TASK_ID} 没有待答复的执行困难"
    )
    shell.send(Action.DIFFICULTY, msg(text="经费不足"))
    assert shell.refused(Action.ANSWER_DIFFICULTY, msg(decision="continue")) == (
        f"{LEAD}无权答复执行困难：任务 {TASK_ID} 只有{OFFICE}可以答复执行困难"
    )
    assert shell.refused(Action.ANSWER_DIFFICULTY, msg(unit=OFFICE, decision="stop")) == (
        "答复执行困难须选择继续执行（continue）、暂停执行（suspend）或调整思路（new_approach）"
    )
    for decision in ("continue", "suspend", "new_approach"):
        message = msg(unit=OFFICE, decision=decision)
        assert refusal(Action.ANSWER_DIFFICULTY, message, shell.s, shell.now) is None


def test_resume_is_the_office_s_and_only_when_suspended() -> None:
    running = state_at(Stage.IN_PROGRESS)
    assert refusal(Action.RESUME, msg(unit=OFFICE), running, MONDAY) == (
        f"任务 {TASK_ID} 未暂停执行，无需恢复"
    )
    suspended = state_at(Stage.IN_PROGRESS, suspended_at=MONDAY)
    assert refusal(Action.RESUME, msg(unit=OFFICE), suspended, MONDAY) is None
    assert refusal(Action.RESUME, msg(), suspended, MONDAY) == (
        f"{LEAD}无权恢复执行：任务 {TASK_ID} 只有{OFFICE}可以恢复执行"
    )


def test_an_extension_is_later_than_the_deadline_in_the_office_s_days() -> None:
    """The current deadline is the due date, else the open window's day at the office."""
    shell = Shell().through("received")  # the deploy window: 3 working days from Monday
    w = shell.s.window
    assert w is not None and w.deadline == at(11, 26, 18)
    ask = shell.refused
    assert ask(Action.REQUEST_EXTENSION, msg(unit=CO1, text="难", until=date(2026, 12, 4))) == (
        f"{CO1}无权申请延期：任务 {TASK_ID} 只有{LEAD}可以申请延期"
    )
    assert ask(Action.REQUEST_EXTENSION, msg(text="需协调")) == (
        "请注明延期至哪一天（--until YYYY-MM-DD）"
    )
    assert ask(Action.REQUEST_EXTENSION, msg(text="需协调", until=date(2026, 11, 26))) == (
        "延期日期 2026-11-26 不晚于当前时限 2026-11-26"
    )
    ok = msg(text="需协调", until=date(2026, 11, 27))
    assert refusal(Action.REQUEST_EXTENSION, ok, shell.s, shell.now) is None


def test_an_extension_compares_office_days_not_utc_days() -> None:
    # A window closing at 07:00 in Beijing closes the day before in UTC: the office's day
    # is the one compared, so an extension to that UTC day is not "later".
    state = escalated(0)
    assert state.window is not None
    state.window.deadline = at(12, 3, 7)
    too_early = msg(text="需协调", until=date(2026, 12, 2))
    assert refusal(Action.REQUEST_EXTENSION, too_early, state, MONDAY) == (
        "延期日期 2026-12-02 不晚于当前时限 2026-12-03"
    )


def test_an_extension_is_not_in_the_past_and_the_due_date_rules() -> None:
    state = state_at(Stage.IN_PROGRESS, due=date(2026, 11, 20))
    reason = refusal(
        Action.REQUEST_EXTENSION, msg(text="难", until=date(2026, 11, 21)), state, MONDAY
    )
    assert reason == "延期日期 2026-11-21 不晚于今天"
    today = refusal(
        Action.REQUEST_EXTENSION, msg(text="难", until=date(2026, 11, 23)), state, MONDAY
    )
    assert today == "延期日期 2026-11-23 不晚于今天"
    dated = state_at(Stage.IN_PROGRESS, due=date(2026, 12, 10))
    assert (
        refusal(Action.REQUEST_EXTENSION, msg(text="难", until=date(2026, 12, 10)), dated, MONDAY)
        == "延期日期 2026-12-10 不晚于当前时限 2026-12-10"
    )


def test_decide_extension_is_the_approver_s() -> None:
    shell = Shell(make_spec(DEFAULT.model_copy(update={"extension_approver": APPROVER})))
    shell.through("received")
    assert shell.refused(Action.DECIDE_EXTENSION, msg(unit=APPROVER, decision="approve")) == (
        f"任务 {TASK_ID} 没有待审批的延期申请"
    )
    shell.send(Action.REQUEST_EXTENSION, msg(text="需协调", until=date(2026, 12, 18)))
    assert shell.refused(Action.REQUEST_EXTENSION, msg(text="再", until=date(2026, 12, 25))) == (
        f"任务 {TASK_ID} 已有一项延期申请待审批"
    )
    assert shell.refused(Action.DECIDE_EXTENSION, msg(unit=OFFICE, decision="approve")) == (
        f"{OFFICE}无权审批延期申请：任务 {TASK_ID} 只有{APPROVER}可以审批延期申请"
    )
    assert shell.refused(Action.DECIDE_EXTENSION, msg(unit=APPROVER, decision="maybe")) == (
        "审批延期申请须选择同意（approve）或不同意（refuse）"
    )
    for decision in ("approve", "refuse"):
        message = msg(unit=APPROVER, decision=decision)
        assert refusal(Action.DECIDE_EXTENSION, message, shell.s, shell.now) is None


def test_contribute_is_a_signed_co_unit_s_s0_6() -> None:
    """S0 §6: co-units work to the lead unit's requirements; their part goes to it."""
    state = state_at(Stage.IN_PROGRESS, co_received=[CO1])
    assert refusal(Action.CONTRIBUTE, msg(unit=CO1, text="已拨付经费"), state, MONDAY) is None
    assert refusal(Action.CONTRIBUTE, msg(unit=CO2, text="已完成"), state, MONDAY) == (
        f"{CO2}尚未签收任务 {TASK_ID}"
    )
    for unit in (LEAD, OFFICE, OUTSIDER):
        assert refusal(Action.CONTRIBUTE, msg(unit=unit, text="做了"), state, MONDAY) == (
            f"{unit}不是任务 {TASK_ID} 的协办单位"
        )


def test_disagree_from_a_unit_of_the_task_one_at_a_time_s0_7() -> None:
    """S0 §7, S2 §11: units of the task raise a disagreement for the office to coordinate."""
    shell = Shell().through("received")
    for unit in (LEAD, CO1, CO2):
        assert refusal(Action.DISAGREE, msg(unit=unit, text="分工"), shell.s, shell.now) is None
    for unit in (OFFICE, OUTSIDER):
        assert shell.refused(Action.DISAGREE, msg(unit=unit, text="分工")) == (
            f"{unit}不是任务 {TASK_ID} 的牵头单位或协办单位"
        )
    shell.send(Action.DISAGREE, msg(unit=CO1, text="经费分担有分歧"))
    assert shell.refused(Action.DISAGREE, msg(text="另一个")) == (
        f"任务 {TASK_ID} 已有一项意见分歧正在协调，请待其解决后再提出"
    )


def disagreement_at(level: int) -> TaskState:
    matter = Matter(
        key="disagreement:9",
        kind="disagreement",
        raised_by=CO1,
        raised_at=MONDAY,
        text="经费分担有分歧",
        ladder=[("office", "3wd"), ("leader_in_charge", "3wd"), ("principal_leader", "5wd")],
        unit=OFFICE,
        level=level,
    )
    return state_at(Stage.IN_PROGRESS, matters=[matter])


@pytest.mark.parametrize(
    ("level", "unit", "role", "want"),
    [
        (0, OFFICE, None, None),
        (0, LEAD, None, f"{LEAD}无权协调：意见分歧现由办公室协调，只有{OFFICE}可以协调"),
        (0, OUTSIDER, "office", f"{OUTSIDER}无权协调：意见分歧现由办公室协调"),
        (1, LEAD, "leader_in_charge", None),
        (1, OFFICE, "leader_in_charge", None),
        (1, CO2, "leader_in_charge", None),
        (
            1,
            LEAD,
            None,
            "意见分歧现由分管领导协调（--role leader_in_charge）",
        ),
        (1, OFFICE, "principal_leader", "协调（--role leader_in_charge）"),
        # "resolve above the office from a unit not of the task"
        (
            1,
            OUTSIDER,
            "leader_in_charge",
            f"{OUTSIDER}不是任务 {TASK_ID} 的相关单位，无权协调其意见分歧",
        ),
        (2, LEAD, "principal_leader", None),
        (2, LEAD, "leader_in_charge", "意见分歧现由主要领导协调（--role principal_leader）"),
        (2, OUTSIDER, "principal_leader", f"{OUTSIDER}不是任务 {TASK_ID} 的相关单位"),
    ],
)
def test_resolve_follows_the_coordination_ladder_s0_7_s2_11(
    level: int, unit: str, role: str | None, want: str | None
) -> None:
    """S0 §7, S2 §11: the office, then the leader in charge, then the principal leader."""
    reason = refusal(
        Action.RESOLVE, msg(unit=unit, role=role, text="按比例分担"), disagreement_at(level), MONDAY
    )
    if want is None:
        assert reason is None
    else:
        assert reason is not None and want in reason, reason


def test_resolve_with_nothing_to_resolve() -> None:
    reason = refusal(Action.RESOLVE, msg(unit=OFFICE, text="协调"), state_at(Stage.PLANNED), MONDAY)
    assert reason == f"任务 {TASK_ID} 没有待协调的意见分歧"


def test_a_refusal_changes_nothing() -> None:
    shell = Shell().through("deployed")
    before = dump(shell.s)
    wrong: list[tuple[Action, Message]] = [
        (Action.RECEIVE, msg()),
        (Action.VERIFY, msg(unit=OFFICE)),
        (Action.ACK, msg()),
        (Action.RESUME, msg(unit=OFFICE)),
        (Action.CONTRIBUTE, msg(unit=OUTSIDER, text="x")),
    ]
    for action, message in wrong:
        assert refusal(action, message, shell.s, shell.now) is not None
    assert dump(shell.s) == before
