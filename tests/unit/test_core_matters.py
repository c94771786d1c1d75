"""workflows.core.matters and delivery: a matter raised must be answered in time, and a
missed answer climbs the matter's own ladder (S0 §3: the office answers a difficulty within
3 working days; S0 §7, S2 §11: disagreements to the office, the leader in charge, the
principal leader); a notice that could not be delivered is the office's to chase."""

from __future__ import annotations

from datetime import date

import pytest

from tests.policies import HOURLY
from tests.unit.core_kit import (
    CO1,
    DEFAULT,
    LEAD,
    OFFICE,
    Recording,
    Shell,
    deadline,
    dump,
    kinds,
    make_spec,
    msg,
    notices,
    records,
)
from workflows.contracts import Notice, NoticeOutcome
from workflows.core import delivery, matters
from workflows.core.decision import AllRules
from workflows.names import Action, EventKind, NoticeKind
from workflows.policy import Policy


@pytest.mark.parametrize(
    ("kind", "urgency", "want"),
    [
        (
            "difficulty",
            "normal",
            [("office", "3wd"), ("deputy_secretary_general", "1wd"), ("principal_leader", "2wd")],
        ),
        (
            "difficulty",
            "urgent",
            [("office", "1wd"), ("deputy_secretary_general", "4h"), ("principal_leader", "1wd")],
        ),
        (
            "extension",
            "normal",
            [("office", "3wd"), ("deputy_secretary_general", "1wd"), ("principal_leader", "2wd")],
        ),
        (
            "disagreement",
            "normal",
            [("office", "3wd"), ("leader_in_charge", "3wd"), ("principal_leader", "5wd")],
        ),
        (
            "disagreement",
            "urgent",
            [("office", "3wd"), ("leader_in_charge", "3wd"), ("principal_leader", "5wd")],
        ),
    ],
)
def test_each_matter_s_ladder_s0_3_s0_7(
    kind: str, urgency: str, want: list[tuple[str, str]]
) -> None:
    """The first answers within its window; the ladder above is the escalation's (the
    supervisor is supervised too), or the coordination ladder for a disagreement."""
    s = Shell(make_spec(urgency=urgency)).s
    assert matters.ladder(s, kind) == want  # type: ignore[arg-type]


def raised(action: Action, message: object, policy: Policy = DEFAULT) -> tuple[Shell, str]:
    shell = Shell(make_spec(policy)).through("planned")
    shell.send(action, message)  # type: ignore[arg-type]
    return shell, shell.s.matters[-1].key


@pytest.mark.parametrize(
    ("action", "message", "label", "role", "first_unit"),
    [
        (Action.DIFFICULTY, msg(text="经费不足"), "执行困难答复", "办公室", OFFICE),
        (
            Action.REQUEST_EXTENSION,
            msg(text="需协调", until=date(2026, 12, 31)),
            "延期审批",
            "办公室",
            OFFICE,
        ),
        (Action.DISAGREE, msg(unit=CO1, text="分担有分歧"), "分歧协调", "办公室", OFFICE),
    ],
)
def test_the_first_level_is_asked_to_answer_by_its_deadline(
    action: Action, message: object, label: str, role: str, first_unit: str
) -> None:
    shell, key = raised(action, message)
    m = matters.find(shell.s, key)
    answer_by = deadline(shell.now, m.ladder[0][1])
    rules = Recording()
    state = shell.s
    before = dump(state)
    decision = matters.level_opened(state, key, answer_by, shell.now, rules)
    assert dump(state) == before and rules.intents == decision.intents
    opened = matters.find(decision.state, key)
    assert (opened.opened_at, opened.deadline, opened.rule) == (
        shell.now,
        answer_by.at,
        answer_by.rule,
    )
    assert kinds(decision) == [EventKind.MATTER_OPENED]
    event = records(decision)[0].event
    when = answer_by.at.strftime("%Y-%m-%d %H:%M")
    assert event.detail == f"{label}：请{role}于 {when} 前答复（{answer_by.rule}）"
    assert (event.unit, event.level, event.deadline) == (first_unit, 0, answer_by.at)
    (told,) = notices(decision)
    n = told.notice
    assert (n.role, n.unit, n.kind, n.level) == ("office", first_unit, NoticeKind.MATTER, 0)
    assert n.about is not None
    assert (n.about.subject_unit, n.about.answer_by, n.about.matter, n.about.said) == (
        message.unit,
        answer_by.at,
        m.kind,
        m.text,
    )  # type: ignore[attr-defined]


def test_a_missed_answer_climbs_the_matter_s_ladder_and_stays_red_s0_3() -> None:
    shell, key = raised(Action.DIFFICULTY, msg(text="经费不足"))
    shell.open_level(key)  # the office: 3 working days
    state = shell.s
    assert state.light(shell.now) == "green"
    shell.to(matters.find(state, key).deadline or shell.now)
    before = dump(state)
    decision = matters.missed(state, key, shell.now, AllRules())
    assert dump(state) == before
    m = matters.find(decision.state, key)
    assert (m.missed, m.level, m.deadline) == (True, 1, None)
    assert kinds(decision) == [EventKind.MATTER_MISSED] and notices(decision) == []
    event = records(decision)[0].event
    assert (event.detail, event.unit, event.level) == ("执行困难答复未按时答复", OFFICE, 0)
    assert decision.state.light(shell.now) == "red"  # the office's miss is on the task too

    shell.apply(decision)
    escalated = shell.open_level(key)
    assert kinds(escalated) == [EventKind.MATTER_ESCALATED]
    event = records(escalated)[0].event
    assert event.level == 1 and event.unit == LEAD
    assert event.detail.startswith("执行困难答复：请副秘书长于 ")
    (told,) = notices(escalated)
    assert (told.notice.role, told.notice.unit, told.notice.level) == (
        "deputy_secretary_general",
        LEAD,
        1,
    )


def test_a_disagreement_climbs_to_the_leader_in_charge_then_the_principal_leader_s0_7() -> None:
    shell, key = raised(Action.DISAGREE, msg(unit=CO1, text="分担有分歧"))
    told = []
    for _ in range(3):
        opened = shell.open_level(key)
        told.append([(n.notice.role, n.notice.level) for n in notices(opened)])
        shell.matter_missed(key)
    assert told == [[("office", 0)], [("leader_in_charge", 1)], [("principal_leader", 2)]]
    assert matters.find(shell.s, key).level == 2  # the top keeps being asked
    again = shell.open_level(key)
    assert records(again)[0].event.detail.startswith("分歧协调：请主要领导于 ")


def test_watching_stops_when_answered_or_the_task_is_over() -> None:
    shell, key = raised(Action.DIFFICULTY, msg(text="经费不足"), HOURLY)
    assert matters.watching(shell.s, key, terminal=False)
    assert not matters.watching(shell.s, key, terminal=True)
    shell.send(Action.ANSWER_DIFFICULTY, msg(unit=OFFICE, decision="continue"))
    assert not matters.watching(shell.s, key, terminal=False)


# ---- delivery ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "label"),
    [
        ("lead_unit", "牵头单位主要负责人"),
        ("deputy_secretary_general", "副秘书长"),
        ("co_unit", "协办单位"),
    ],
)
def test_an_undelivered_notice_is_the_office_s_to_chase(role: str, label: str) -> None:
    shell = Shell(make_spec(HOURLY)).through("received")
    shell.miss()
    shell.step_up()
    escalation = shell.step_up()  # level 2: the deputy told, the lead unit and co-units copied
    failed: Notice = next(n.notice for n in notices(escalation) if n.notice.role == role)
    rules = Recording()
    state = shell.s
    before = dump(state)
    decision = delivery.undelivered(state, failed, "号码无效", shell.now, rules)
    assert dump(state) == before and rules.intents == decision.intents
    assert kinds(decision) == [EventKind.NOTICE_FAILED]
    event = records(decision)[0].event
    # A unit's head by the unit; a leader by the role alone (the deputy secretary-general
    # is not the late unit's).
    whom = label if role == "deputy_secretary_general" else f"{failed.unit}{label}"
    assert event.detail == f"未能通知{whom}：号码无效"
    assert (event.unit, event.level) == (failed.unit, 2)
    (told,) = notices(decision)
    n = told.notice
    assert (n.role, n.unit, n.kind) == ("office", OFFICE, NoticeKind.UNDELIVERED)
    assert n.about is not None
    assert (n.about.subject_unit, n.about.said, n.about.failed_role, n.about.failed_unit) == (
        failed.unit,
        "号码无效",
        role,
        failed.unit,
    )


def test_outcomes_are_kept_in_order() -> None:
    shell = Shell()
    one = NoticeOutcome(
        seq=2, role="lead_unit", unit=LEAD, channel="sms", status="delivered", attempts=1
    )
    two = one.model_copy(update={"seq": 3, "status": "failed"})
    first = delivery.kept(shell.s, [one])
    both = delivery.kept(first, [two])
    assert both.notifications == [one, two] and shell.s.notifications == []


def test_the_office_is_told_over_a_channel_other_than_the_ones_that_failed() -> None:
    shell = Shell(make_spec(HOURLY)).through("received")
    shell.miss()
    escalation = shell.step_up()
    failed: Notice = notices(escalation)[0].notice
    decision = delivery.undelivered(shell.s, failed, "503", shell.now, Recording(), "webhook+sms")
    (told,) = notices(decision)
    assert told.notice.role == "office" and told.notice.avoid == ["webhook", "sms"]
    plain = delivery.undelivered(shell.s, failed, "503", shell.now, Recording())
    assert notices(plain)[0].notice.avoid == []
