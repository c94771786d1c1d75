"""workflows.core.deadlines: which window each stage opens and from when (S2 §5, §7; S0 §1),
its warning and its miss, and how a re-plan moves it (the due date first, an extension
later only, a suspension's pause kept; DOMAIN "Time": working days, the calendar fallback)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.policies import HOURLY
from tests.unit.core_kit import (
    LEAD,
    MONDAY,
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
from workflows.contracts import Deadline, Matter
from workflows.core import deadlines
from workflows.core.decision import AllRules, Notify, Record, Warn
from workflows.names import Action, EventKind, NoticeKind, Stage

# stage -> (window, default span, span when urgent, the event it counts from, due counts)
WINDOWS = {
    "assigned": ("receive", "1wd", "2h", EventKind.ASSIGNED, False),
    "received": ("deploy", "3wd", "4h", EventKind.RECEIVED, False),
    "deployed": ("plan", "5wd", "1wd", EventKind.RECEIVED, False),
    "planned": ("progress", "10wd", "2wd", EventKind.RECEIVED, True),
    "in_progress": ("stage_every", "10wd", "5wd", EventKind.REPORTED_PROGRESS, True),
    "completed": ("verify", "5wd", "2wd", EventKind.REPORTED_COMPLETION, False),
}


@pytest.mark.parametrize("stage", list(WINDOWS))
def test_each_stage_opens_its_window_from_its_anchor_s2_5_s2_7(stage: str) -> None:
    """S2 §5: deploy within 3 working days; S2 §7: a plan within 5, the status within 10,
    counted from receipt; then staged reports; the assigning unit verifies (S2 §8)."""
    name, span, urgent_span, anchor, due_counts = WINDOWS[stage]
    shell = Shell().through(stage)
    ask = deadlines.next_window(shell.s)
    assert (ask.plan.name, ask.span, ask.due_counts) == (name, span, due_counts)
    assert ask.stage == stage and ask.generation == shell.s.advances
    opened = next(e.at for e in reversed(shell.s.events) if e.kind == anchor)
    assert ask.opened == opened
    w = shell.s.window
    assert w is not None and (w.name, w.stage, w.opened_at, w.span) == (name, stage, opened, span)
    assert w.owner_unit == (OFFICE if stage == "completed" else LEAD)
    urgent = shell.s.model_copy(update={"urgency": "urgent"})
    assert deadlines.next_window(urgent).span == urgent_span


def test_windows_count_working_days_to_the_office_s_closing_time() -> None:
    """DOMAIN "Time": N working days after the day it opens, at 18:00 in Beijing."""
    shell = Shell()  # assigned Monday 23 November 2026, 10:00
    w = shell.s.window
    assert w is not None
    assert w.deadline == at(11, 24, 18) and not w.fallback
    assert (
        w.rule == "自 2026-11-23 10:00 起 1 个工作日，18:00 截止（北京时间）；日历：国家法定工作日"
    )
    assert w.awaiting == "签收"


def test_a_window_opened_after_a_new_approach_counts_from_it_s0_3() -> None:
    shell = Shell().through("planned")
    shell.send(Action.DIFFICULTY, msg(text="难"))
    shell.later(days=1)
    shell.send(Action.ANSWER_DIFFICULTY, msg(unit=OFFICE, decision="new_approach", text="分批"))
    w = shell.s.window
    assert w is not None and w.name == "plan" and w.opened_at == shell.now


def test_the_window_set_is_on_record_with_its_rule() -> None:
    shell = Shell().through("received")
    decision = shell.decisions[-1]
    assert kinds(decision) == [EventKind.DEADLINE_SET]
    assert [type(i) for i in decision.intents] == [Record]
    event = records(decision)[0].event
    w = shell.s.window
    assert w is not None
    assert (event.unit, event.deadline, event.level) == (LEAD, w.deadline, 0)
    assert event.detail == f"部署：{w.rule}"
    assert shell.s.difficulty_until == at(11, 30, 18)  # S0 §3: 5 working days from receipt


def test_a_year_without_a_published_calendar_counts_monday_to_friday_flagged() -> None:
    """DOMAIN "Time": no calendar for 2027 yet: Monday–Friday, flagged, and said so."""
    shell = Shell(now=at(12, 31, 10))  # Thursday 31 December 2026
    w = shell.s.window
    assert w is not None and w.fallback and shell.s.fallback
    assert w.deadline == at(1, 1, 18, y=2027)  # New Year's Day counted as a Friday
    assert "按周一至周五推算（无官方日历）" in w.rule
    setting = shell.decisions[-1]
    assert isinstance(setting.intents[0], Warn)
    assert "counted Monday-Friday" in setting.intents[0].message  # the worker's log
    assert kinds(setting) == [EventKind.DEADLINE_SET]


def test_the_due_date_closes_a_report_window_first() -> None:
    """S2 §7: where the assigner set a deadline, it rules."""
    shell = Shell(make_spec(due=date(2026, 12, 1))).through("planned")
    w = shell.s.window
    assert w is not None and w.name == "due"  # the progress window would close 7 December
    assert w.deadline == at(12, 1, 18)
    assert w.rule.startswith(deadlines.BY_DUE_DATE)
    assert records(shell.decisions[-1])[0].event.detail.startswith("完成时限：按完成时限：")


def test_earliest_and_extended() -> None:
    base = Deadline(at=at(12, 7, 18), rule="十个工作日")
    due = Deadline(at=at(12, 1, 18), rule="2026-12-01 18:00 截止")
    later = Deadline(at=at(12, 9, 18), rule="2026-12-09 18:00 截止")
    assert deadlines.earliest(base, due) == Deadline(
        at=at(12, 1, 18), rule="按完成时限：2026-12-01 18:00 截止"
    )
    assert deadlines.earliest(base, later) is base
    assert deadlines.earliest(base, None) is base
    # An approved extension moves a window later, never earlier.
    assert deadlines.extended(base, later) == Deadline(
        at=at(12, 9, 18), rule="经批准延期至：2026-12-09 18:00 截止"
    )
    assert deadlines.extended(base, due) is base
    assert deadlines.extended(base, None) is base


def test_a_legacy_due_rule_still_names_the_window_due() -> None:
    shell = Shell().through("planned")
    ask = deadlines.next_window(shell.s)
    moved = deadlines.set_window(shell.s, ask, Deadline(at=at(12, 1, 18), rule="due: 2026-12-01"))
    assert moved.window is not None and moved.window.name == "due"


# ---- the warning margin (yellow) and the miss (red) -------------------------------------------


def test_the_warning_comes_when_the_margin_begins() -> None:
    shell = Shell().through("received")  # deploy: Thursday 26 November 18:00
    w = shell.s.window
    assert w is not None
    assert (w.warn_at, w.warned) == (at(11, 25, 18), False)
    assert shell.s.light(at(11, 25, 17, 59)) == "green"
    assert shell.s.light(at(11, 25, 18)) == "yellow"


def test_a_window_opened_inside_its_margin_is_yellow_at_once_without_a_warning() -> None:
    shell = Shell()  # receive: Tuesday 18:00, margin from Monday 18:00
    ask_state = shell.s
    moved = deadlines.plan_warning(ask_state, at(11, 23, 9))
    w = moved.window
    assert w is not None and (w.warn_at, w.warned) == (MONDAY, True)
    assert moved.light(MONDAY) == "yellow"
    assert ask_state.window is not None and not ask_state.window.warned  # input untouched


def test_the_owner_is_warned_once_before_the_window_closes() -> None:
    shell = Shell().through("received")
    before = dump(shell.s)
    rules = Recording()
    state = shell.s
    decision = deadlines.warn(state, at(11, 25, 18), rules)
    assert dump(state) == before and rules.intents == decision.intents
    assert decision.state.window is not None and decision.state.window.warned
    assert kinds(decision) == [EventKind.WARNED]
    event = records(decision)[0].event
    assert event.detail == "部署将于 2026-11-26 18:00 截止"
    assert (event.unit, event.deadline) == (LEAD, at(11, 26, 18))
    (told,) = notices(decision)
    n = told.notice
    assert (n.role, n.unit, n.kind, n.deadline) == (
        "lead_unit",
        LEAD,
        NoticeKind.WARNING,
        at(11, 26, 18),
    )
    assert n.about is not None
    assert (n.about.subject_unit, n.about.window, n.about.window_deadline) == (
        LEAD,
        "deploy",
        at(11, 26, 18),
    )
    assert n.facts["window"] == "部署" and n.facts["expected"] == "报送部署情况"


def test_the_verification_window_warns_and_misses_the_office_s2_8() -> None:
    shell = Shell(make_spec(HOURLY)).through("completed")
    warned = shell.warn()
    assert [n.notice.unit for n in notices(warned)] == [OFFICE]
    assert records(warned)[0].event.detail.startswith("核实销号将于 ")
    missed = shell.miss()
    assert records(missed)[0].event.unit == OFFICE


def test_a_missed_window_is_on_record_and_red() -> None:
    shell = Shell().through("received")
    state = shell.s
    before = dump(state)
    decision = deadlines.miss(state, at(11, 26, 18), AllRules())
    assert dump(state) == before
    s = decision.state
    assert s.window is not None and s.window.missed and s.misses == state.misses + 1
    assert kinds(decision) == [EventKind.MISSED] and notices(decision) == []
    event = records(decision)[0].event
    assert (event.detail, event.unit, event.level) == ("部署已逾期", LEAD, 0)


# ---- re-planning ----------------------------------------------------------------------------


def test_replannable_only_while_the_stage_s_window_is_open() -> None:
    shell = Shell().through("received")
    assert deadlines.replannable(shell.s)
    moved_on = shell.s.model_copy(update={"stage": Stage.DEPLOYED})
    assert not deadlines.replannable(moved_on)  # the next window is not open yet
    closed = shell.s.model_copy(update={"stage": Stage.WITHDRAWN})
    assert not deadlines.replannable(closed)


def test_replan_span_follows_the_urgency_and_the_due_date_has_none() -> None:
    shell = Shell().through("received")
    assert deadlines.replan_span(shell.s) == "3wd"
    assert deadlines.replan_span(shell.s.model_copy(update={"urgency": "urgent"})) == "4h"
    due = Shell(make_spec(due=date(2026, 12, 1))).through("planned")
    assert deadlines.replan_span(due.s) is None


def test_keep_pause_adds_the_pause_and_says_so() -> None:
    new = Deadline(at=at(11, 26, 18), rule="三个工作日")
    kept = deadlines.keep_pause(new, 26 * 3600)
    assert kept.at == at(11, 27, 20)
    assert kept.rule == "三个工作日；暂停顺延 26.0 小时"
    assert new.at == at(11, 26, 18)


def _matter(key: str, **fields: object) -> Matter:
    values: dict[str, object] = {
        "key": key,
        "kind": "difficulty",
        "raised_by": LEAD,
        "raised_at": MONDAY,
        "text": "难",
        "ladder": [("office", "3wd")],
        "unit": OFFICE,
    }
    values.update(fields)
    return Matter.model_validate(values)


def test_open_matters_are_the_unanswered_ones_whose_clock_runs() -> None:
    running = _matter("difficulty:3", opened_at=MONDAY, deadline=at(11, 26, 18))
    answered = _matter("extension:5", opened_at=MONDAY, deadline=at(11, 26, 18), resolved=True)
    asking = _matter("disagreement:7")  # the next level not asked yet
    s = Shell().s.model_copy(update={"matters": [running, answered, asking]})
    assert deadlines.open_matters(s) == ["difficulty:3"]
    moved = deadlines.move_matter(
        s, "difficulty:3", Deadline(at=at(11, 27, 18), rule="新规则"), timedelta(hours=2)
    )
    assert (moved.matters[0].deadline, moved.matters[0].rule) == (at(11, 27, 20), "新规则")
    assert s.matters[0].deadline == at(11, 26, 18)  # input untouched


def test_unchanged_bump_and_move_window() -> None:
    shell = Shell().through("received")
    w = shell.s.window
    assert w is not None
    same = Deadline(at=w.deadline, rule="另一条规则")
    assert deadlines.unchanged(shell.s, same)
    assert not deadlines.unchanged(shell.s, same.model_copy(update={"fallback": True}))
    assert deadlines.bump(shell.s).replans == shell.s.replans + 1
    new = Deadline(at=at(11, 24, 18), rule="紧急", fallback=False)
    moved = deadlines.move_window(shell.s, new, "4h")
    m = moved.window
    assert m is not None and (m.deadline, m.rule, m.span) == (at(11, 24, 18), "紧急", "4h")
    assert w.deadline == at(11, 26, 18)


def test_a_replan_that_reopens_a_missed_window_stops_the_climb() -> None:
    """An approved extension is an answer: the climb stops; the miss stays on record."""
    shell = Shell().through("received")
    shell.miss()
    shell.step_up()
    shell.step_up()
    assert shell.s.escalation_level == 2
    new = deadline(shell.now, "2wd")
    state = shell.s
    before = dump(state)
    decision = deadlines.replanned(state, at(11, 26, 18), new, "同意延期", shell.now, AllRules())
    assert dump(state) == before
    s = decision.state
    assert s.window is not None and not s.window.missed
    assert (s.escalation_level, s.level_deadline, s.held_at_level) == (0, None, 0)
    assert s.misses == 1 and s.replans == state.replans + 1
    assert kinds(decision) == [EventKind.REPLANNED]
    event = records(decision)[0].event
    assert event.detail == (f"部署：2026-11-26 18:00 → 2026-12-01 18:00（同意延期；{new.rule}）")
    assert event.deadline == new.at
    # A new deadline already past does not reopen it: the climb goes on.
    past = Deadline(at=shell.now - timedelta(hours=1), rule="已过")
    still = deadlines.replanned(state, at(11, 26, 18), past, "日历更新", shell.now, AllRules())
    assert still.state.escalation_level == 2 and still.state.window is not None
    assert still.state.window.missed


def test_a_replan_into_an_unpublished_year_warns_the_log() -> None:
    shell = Shell(now=at(12, 24, 10)).through("received")
    new = deadline(at(12, 31, 10), "1wd")
    assert new.fallback
    decision = deadlines.replanned(shell.s, at(12, 29, 18), new, "日历更新", shell.now, AllRules())
    assert [type(i) for i in decision.intents] == [Warn, Record]
    assert not any(isinstance(i, Notify) for i in decision.intents)
