"""workflows.core.climb: a missed window climbs lead unit → deputy secretary-general →
principal leader, one level per unanswered answer window (DOMAIN "Escalation"; S2 §4 the
first responsible person, S0 §8 the deputy secretary-general's first-ask duty); the levels
below and the co-units are copied (S0 §6), the top is reminded, an acknowledgement holds."""

from __future__ import annotations

import pytest

from tests.policies import HOURLY
from tests.unit.core_kit import (
    CO1,
    CO2,
    DEFAULT,
    LEAD,
    OFFICE,
    Recording,
    Shell,
    at,
    deadline,
    dump,
    kinds,
    make_spec,
    msg,
    notices,
    records,
)
from workflows.contracts import Deadline
from workflows.core import climb
from workflows.core.decision import Count, Notify, Record
from workflows.names import Action, EventKind, NoticeKind
from workflows.policy import Policy

LADDER = ["lead_unit", "deputy_secretary_general", "principal_leader"]
LABELS = {
    "lead_unit": "牵头单位主要负责人",
    "deputy_secretary_general": "副秘书长",
    "principal_leader": "主要领导",
}


def missed(policy: Policy = DEFAULT, **fields: object) -> Shell:
    shell = Shell(make_spec(policy, **fields)).through("received")
    shell.miss()
    return shell


@pytest.mark.parametrize("level", [1, 2, 3])
def test_each_step_up_tells_its_level_and_copies_everyone_below(level: int) -> None:
    """The level is told, with the answer window; the levels below and the co-units are
    copied (S0 §6: the co-units the late work concerns)."""
    shell = missed()
    for _ in range(level - 1):
        shell.step_up()
    shell.to(shell.s.level_deadline or shell.now)
    answer_by = deadline(shell.now, DEFAULT.escalation[level - 1].answer_within)
    rules = Recording()
    state = shell.s
    before = dump(state)
    decision = climb.step_up(state, answer_by, shell.now, rules)
    assert dump(state) == before and rules.intents == decision.intents
    s = decision.state
    assert (s.escalation_level, s.level_deadline) == (level, answer_by.at)
    assert kinds(decision) == [EventKind.ESCALATED]
    event = records(decision)[0].event
    role = LADDER[level - 1]
    assert (event.level, event.unit, event.deadline) == (level, LEAD, answer_by.at)
    assert event.detail == f"{LABELS[role]}：请于 {answer_by.at.strftime('%Y-%m-%d %H:%M')} 前答复"
    told = [(n.notice.role, n.notice.unit, n.notice.kind) for n in notices(decision)]
    assert told == [
        (role, LEAD, NoticeKind.ESCALATION),
        *[(lower, LEAD, NoticeKind.COPY) for lower in LADDER[: level - 1]],
        ("co_unit", CO1, NoticeKind.COPY),
        ("co_unit", CO2, NoticeKind.COPY),
    ]
    w = shell.s.window
    assert w is not None
    for n in notices(decision):
        assert (n.notice.seq, n.notice.level, n.notice.deadline) == (event.seq, level, answer_by.at)
        about = n.notice.about
        assert about is not None
        assert (about.subject_unit, about.window, about.window_deadline, about.answer_by) == (
            LEAD,
            "deploy",
            w.deadline,
            answer_by.at,
        )
    assert rules.asked == ["co-unit-copies"]
    assert decision.intents[-1] == Count(
        "duban_escalations", "escalations by level", (("level", str(level)),)
    )
    assert s.light(shell.now) == "red" and s.next_deadline == answer_by.at


def test_the_answer_windows_follow_the_ladder_s0_8() -> None:
    shell = missed()  # Thursday 26 November 18:00
    levels = []
    for _ in range(3):
        shell.step_up()
        levels.append(shell.s.level_deadline)
    # 1 working day each for the lead unit and the deputy, 2 for the principal leader.
    assert levels == [at(11, 27, 18), at(11, 30, 18), at(12, 2, 18)]


def test_an_urgent_task_climbs_in_hours_s2_5() -> None:
    shell = missed(urgency="urgent")
    assert climb.next_rung(shell.s).answer_within == "4h"
    shell.step_up()
    assert shell.s.level_deadline == shell.now + (at(1, 1, 4) - at(1, 1, 0))


def test_the_top_is_reminded_alone() -> None:
    """Past the top there is no one further: the principal leader is reminded."""
    shell = missed()
    for _ in range(3):
        shell.step_up()
    rules = Recording()
    shell.rules = rules
    decision = shell.step_up()
    assert decision.state.escalation_level == 3
    assert kinds(decision) == [EventKind.REMINDED]
    event = records(decision)[0].event
    assert event.level == 3 and event.detail.startswith("主要领导：请于 ")
    told = [(n.notice.role, n.notice.unit, n.notice.kind) for n in notices(decision)]
    assert told == [("principal_leader", LEAD, NoticeKind.REMINDER)]
    assert "co-unit-copies" not in rules.asked
    assert isinstance(decision.intents[-1], Count)
    assert decision.intents[-1].labels == (("level", "3"),)


def test_no_co_unit_copies_before_release_1() -> None:
    shell = missed()
    shell.rules = Recording(off=("co-unit-copies",))
    shell.step_up()
    decision = shell.step_up()
    told = [(n.notice.role, n.notice.kind) for n in notices(decision)]
    assert told == [
        ("deputy_secretary_general", NoticeKind.ESCALATION),
        ("lead_unit", NoticeKind.COPY),
    ]


def test_a_missed_verification_climbs_for_the_office_s2_8() -> None:
    shell = Shell(make_spec(HOURLY)).through("completed")
    shell.miss()
    decision = shell.step_up()
    assert records(decision)[0].event.unit == OFFICE
    assert {n.notice.unit for n in notices(decision) if n.notice.role != "co_unit"} == {OFFICE}


def test_an_acknowledged_level_holds_for_one_more_answer_window() -> None:
    """我已知悉并督办: the level took it up; the climb waits one more window there."""
    shell = missed(HOURLY)
    shell.step_up()
    shell.step_up()  # level 2, answer by 14:00
    shell.later(minutes=20).send(Action.ACK, msg(role="deputy_secretary_general", text="督办"))
    answer_by = deadline(shell.now, climb.current_rung(shell.s).answer_within)
    state = shell.s
    before = dump(state)
    decision = climb.held(state, answer_by, shell.now, Recording())
    assert dump(state) == before
    s = decision.state
    assert (s.escalation_level, s.level_deadline, s.held_at_level) == (2, answer_by.at, 2)
    assert kinds(decision) == [EventKind.HELD] and notices(decision) == []
    event = records(decision)[0].event
    when = answer_by.at.strftime("%Y-%m-%d %H:%M")
    assert event.detail == f"第 2 级已接手督办，答复期限延至 {when}"
    assert (event.level, event.deadline) == (2, answer_by.at)
    assert [type(i) for i in decision.intents] == [Record]


def test_settle_resets_the_ladder_only_when_the_awaited_message_came() -> None:
    shell = missed(HOURLY)
    shell.step_up()
    shell.step_up()
    mark = shell.s.advances
    assert climb.settle(shell.s, mark) is shell.s  # nothing came: the climb stands
    shell.send(Action.ACK, msg(role="deputy_secretary_general"))
    assert climb.settle(shell.s, mark) is shell.s  # an ack is not the awaited message
    moved = shell.s.model_copy(update={"advances": mark + 1})
    settled = climb.settle(moved, mark)
    assert (settled.escalation_level, settled.level_deadline, settled.held_at_level) == (0, None, 0)
    assert settled.misses == 1  # the miss stays on the record (S2 §9)
    assert moved.escalation_level == 2


def test_the_late_feedback_stops_the_climb_and_the_next_window_is_green() -> None:
    shell = missed(HOURLY)
    shell.step_up()
    shell.later(minutes=10).send(Action.DEPLOY, msg(text="已部署"))
    s = shell.s
    assert (s.escalation_level, s.level_deadline, s.misses) == (0, None, 1)
    assert s.window is not None and s.window.name == "plan" and not s.window.missed
    assert s.light(shell.now) == "green"


def test_next_and_current_rung() -> None:
    shell = missed()
    assert climb.next_rung(shell.s).level == "lead_unit"
    levels = []
    for _ in range(4):
        shell.step_up()
        levels.append((climb.current_rung(shell.s).level, climb.next_rung(shell.s).level))
    assert levels == [
        ("lead_unit", "deputy_secretary_general"),
        ("deputy_secretary_general", "principal_leader"),
        ("principal_leader", "principal_leader"),
        ("principal_leader", "principal_leader"),
    ]


def test_a_two_rung_ladder_tops_out_at_level_two() -> None:
    policy = Policy.model_validate(
        {
            **DEFAULT.model_dump(),
            "escalation": [
                {"level": "lead_unit", "answer_within": "1wd"},
                {"level": "principal_leader", "answer_within": "1wd"},
            ],
        }
    )
    shell = missed(policy)
    shell.step_up()
    second = shell.step_up()
    third = shell.step_up()
    assert [(n.notice.role, n.notice.kind) for n in notices(second)][:2] == [
        ("principal_leader", NoticeKind.ESCALATION),
        ("lead_unit", NoticeKind.COPY),
    ]
    assert kinds(third) == [EventKind.REMINDED] and third.state.escalation_level == 2


def test_step_up_uses_the_deadline_it_is_given() -> None:
    # The shell asks the calendar; the rule takes its answer as it is.
    shell = missed()
    given = Deadline(at=at(12, 25, 18), rule="任意")
    decision = climb.step_up(shell.s, given, shell.now, Recording())
    assert decision.state.level_deadline == given.at
    assert all(isinstance(i, Notify | Record | Count) for i in decision.intents)


# ---- the top reminded, less and less often, then the office told (release 3) -------------------


def test_the_top_is_reminded_with_a_doubling_wait() -> None:
    """A policy that shouts is heard less often: each reminder of one miss waits twice as
    long as the one before."""
    shell = missed()
    spans, counts, ends = [], [], []
    for _ in range(6):
        spans.append(climb.answer_window(shell.s, backs_off=True))
        shell.step_up()
        counts.append(shell.s.reminders)
        ends.append(shell.s.level_deadline)
    assert spans == ["1wd", "1wd", "2wd", "4wd", "8wd", "16wd"]
    assert counts == [0, 0, 0, 1, 2, 3]
    # The principal leader by Wednesday 2 December; reminded then and on Tuesday 8 December.
    assert ends[2:5] == [at(12, 2, 18), at(12, 8, 18), at(12, 18, 18)]
    assert climb.answer_window(shell.s, backs_off=False) == "2wd"  # before release 3


def test_reminded_enough_the_office_is_told_once_and_the_task_stays_red() -> None:
    policy = DEFAULT.model_copy(update={"max_reminders": 2})
    shell = missed(policy)
    for _ in range(4):
        shell.step_up()
        assert not climb.reminders_spent(shell.s)
    shell.step_up()
    assert climb.reminders_spent(shell.s)
    state = shell.s
    before = dump(state)
    rules = Recording()
    shell.to(state.level_deadline or shell.now)
    decision = climb.stalled(state, shell.now, rules)
    assert dump(state) == before and rules.intents == decision.intents
    s = decision.state
    assert (s.escalation_level, s.level_deadline, s.reminders) == (3, None, 2)
    assert kinds(decision) == [EventKind.REMINDERS_SPENT]
    event = records(decision)[0].event
    assert event.detail == "已提醒主要领导 2 次仍未反馈，不再自动提醒，请办公室跟进"
    assert (event.unit, event.level) == (LEAD, 3)
    (told,) = notices(decision)
    n = told.notice
    assert (n.role, n.unit, n.kind) == ("office", OFFICE, NoticeKind.STALLED)
    w = s.window
    assert w is not None and n.about is not None
    assert (n.about.subject_unit, n.about.window, n.about.window_deadline) == (
        LEAD,
        "deploy",
        w.deadline,
    )
    assert s.light(shell.now) == "red" and s.next_deadline == w.deadline


def test_no_reminder_at_all_when_the_policy_allows_none() -> None:
    shell = missed(DEFAULT.model_copy(update={"max_reminders": 0}))
    for _ in range(2):
        shell.step_up()
        assert not climb.reminders_spent(shell.s)
    shell.step_up()
    assert climb.reminders_spent(shell.s) and shell.s.reminders == 0


def test_an_answer_starts_the_reminders_afresh() -> None:
    shell = missed(HOURLY)
    for _ in range(5):
        shell.step_up()
    assert shell.s.reminders == 2
    mark = shell.s.advances
    settled = climb.settle(shell.s.model_copy(update={"advances": mark + 1}), mark)
    assert settled.reminders == 0


def test_a_climb_above_a_shorter_urgent_ladder_reminds_its_top() -> None:
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
    shell = missed(policy)
    for _ in range(3):
        shell.step_up()
    shell.send(Action.RAISE_URGENCY, msg(unit=OFFICE, urgency="urgent"))
    decision = shell.step_up()
    assert kinds(decision) == [EventKind.REMINDED]
    told = [(n.notice.role, n.notice.kind) for n in notices(decision)]
    assert told == [("principal_leader", NoticeKind.REMINDER)]
