"""Accountability from a hand-built ledger: whose late working days each were (the unit's own
apart from the office's or a leader's answer), in China's working days with make-up days and
the operators' calendar table; closed on time; misses and climbs by level; the filters and
the period keep out what is not theirs."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg
import pytest

from activities.accountability import Accountability, UnitRow, accountability
from activities.board import Filters
from activities.periods import Period
from tests.integration.ledger_kit import Story, record, t
from workflows.contracts import Stage
from workflows.names import EventKind as K

Q4 = Period.parse("2026-Q4")
NOW = t("2026-11-23 12:00")


@pytest.fixture
def office() -> str:
    """An assigning unit of this test's own: other tests' tasks never count."""
    return f"区政府办公室-{uuid.uuid4().hex[:6]}"


def unit(report: Accountability, name: str) -> UnitRow:
    return next(r for r in report.units if r.unit == name)


async def test_a_unit_s_own_days_apart_from_the_office_s_answer(
    pool: asyncpg.Pool, office: str
) -> None:
    """The plan was due Friday 13 November at 18:00. The unit raised a difficulty on
    Wednesday (late Monday, Tuesday, Wednesday: three working days across the weekend); the
    office answered on Friday (two more, Thursday and Friday); the unit reported that day."""
    lead = "区司法局"
    story = (
        Story(lead, office)
        .then("2026-11-02 09:00", K.ASSIGNED, office)
        .then("2026-11-02 09:30", K.DEADLINE_SET, lead, deadline="2026-11-13 18:00")
        .then("2026-11-13 18:00", K.MISSED, lead)
        .then("2026-11-13 18:00", K.ESCALATED, lead, level=1, deadline="2026-11-16 18:00")
        .then("2026-11-18 10:00", K.DIFFICULTY_REPORTED, lead)
        .matter("2026-11-18 10:00", K.MATTER_OPENED, "difficulty", office, 0, "2026-11-23 18:00")
        .then("2026-11-20 10:00", K.DIFFICULTY_ANSWERED, office, detail="继续执行")
        .then("2026-11-20 15:00", K.REPORTED_PLAN, lead)
        .then("2026-11-20 15:00", K.DEADLINE_SET, lead, deadline="2026-12-04 18:00")
    )
    await record(pool, story)

    report = await accountability(pool, Filters(Q4, assigning_unit=office), NOW)
    mine = unit(report, lead)
    assert (mine.own_late_days, mine.waited_days) == (3, 2)
    assert (mine.misses, mine.escalations, mine.difficulties) == (1, {1: 1}, 1)
    assert unit(report, office).answer_late_days == 2
    assert unit(report, office).own_late_days == 0
    assert report.leaders == {}

    # Counted in November alone it is the same; in October nothing of it shows.
    november = await accountability(pool, Filters(Period.parse("2026-11"), office), NOW)
    assert unit(november, lead).own_late_days == 3
    october = await accountability(pool, Filters(Period.parse("2026-10"), office), NOW)
    assert [r.unit for r in october.units] == []


async def test_make_up_days_and_holidays_count_as_the_calendar_says(
    pool: asyncpg.Pool, office: str
) -> None:
    """Late from Friday 9 October: Saturday 10 October is a make-up working day (调休), so
    Saturday and Monday are two. Late from Wednesday 30 September to Thursday 8 October:
    the National Day holiday in between, one working day."""
    a, b = "区财政局", "区人社局"
    await record(
        pool,
        Story(a, office)
        .then("2026-10-08 09:00", K.DEADLINE_SET, a, deadline="2026-10-09 18:00")
        .then("2026-10-09 18:00", K.MISSED, a)
        .then("2026-10-12 11:00", K.DEPLOYED, a),
    )
    await record(
        pool,
        Story(b, office)
        .then("2026-09-28 09:00", K.DEADLINE_SET, b, deadline="2026-09-30 18:00")
        .then("2026-09-30 18:00", K.MISSED, b)
        .then("2026-10-08 09:30", K.RECEIVED, b),
    )
    report = await accountability(pool, Filters(Q4, assigning_unit=office), NOW)
    assert unit(report, a).own_late_days == 2
    assert unit(report, b).own_late_days == 1
    # The miss itself was in the third quarter: it is counted there, the days here.
    assert unit(report, b).misses == 0
    q3 = await accountability(pool, Filters(Period.parse("2026-Q3"), office), NOW)
    assert (unit(q3, b).misses, unit(q3, b).own_late_days) == (1, 0)


async def test_the_operators_calendar_table_overrides_the_library(
    pool: asyncpg.Pool, office: str
) -> None:
    """2027 is not published in chinesecalendar; the operators' table makes Monday
    11 January a holiday, and the unit late from Friday 8 to Tuesday 12 is late one day."""
    lead = "区司法局"
    await record(
        pool,
        Story(lead, office)
        .then("2027-01-04 09:00", K.DEADLINE_SET, lead, deadline="2027-01-08 18:00")
        .then("2027-01-08 18:00", K.MISSED, lead)
        .then("2027-01-12 10:00", K.RECEIVED, lead),
    )
    q1 = Filters(Period.parse("2027-Q1"), assigning_unit=office)
    later = t("2027-03-31 12:00")
    assert unit(await accountability(pool, q1, later), lead).own_late_days == 2
    await pool.execute(
        "INSERT INTO calendar_days (day, kind, name) VALUES ($1, 'holiday', '测试休息日')",
        date(2027, 1, 11),
    )
    try:
        assert unit(await accountability(pool, q1, later), lead).own_late_days == 1
    finally:
        await pool.execute("DELETE FROM calendar_days WHERE day = $1", date(2027, 1, 11))


async def test_a_matter_that_climbs_is_late_for_whoever_had_to_answer(
    pool: asyncpg.Pool, office: str
) -> None:
    """The task is not late (its window runs to the 27th). A difficulty raised Monday
    2 November: the office lets its window pass on Thursday the 5th, the deputy
    secretary-general the next day, and the principal leader answers on Monday the 9th.
    The deputy secretary-general was late Friday, the principal leader Monday (the weekend
    between does not count); the office, whose window passed as the matter climbed, and the
    unit, none."""
    lead = "区司法局"
    story = (
        Story(lead, office)
        .then("2026-11-02 09:00", K.DEADLINE_SET, lead, deadline="2026-11-27 18:00")
        .then("2026-11-02 10:00", K.DIFFICULTY_REPORTED, lead)
        .matter("2026-11-02 10:00", K.MATTER_OPENED, "difficulty", office, 0, "2026-11-05 18:00")
        .matter("2026-11-05 18:00", K.MATTER_MISSED, "difficulty", office, 0)
        .matter("2026-11-05 18:00", K.MATTER_ESCALATED, "difficulty", lead, 1, "2026-11-06 18:00")
        .matter("2026-11-06 18:00", K.MATTER_MISSED, "difficulty", office, 1)
        .matter("2026-11-06 18:00", K.MATTER_ESCALATED, "difficulty", lead, 2, "2026-11-10 18:00")
        .then("2026-11-09 11:00", K.DIFFICULTY_ANSWERED, lead, detail="继续执行")
    )
    await record(pool, story)
    report = await accountability(pool, Filters(Q4, assigning_unit=office), NOW)
    assert report.leaders == {"deputy_secretary_general": 1, "principal_leader": 1}
    assert unit(report, lead).own_late_days == 0
    assert {r.unit: r.answer_late_days for r in report.units} == {lead: 0}


async def test_closed_on_time_by_the_due_date_or_the_last_window(
    pool: asyncpg.Pool, office: str
) -> None:
    lead = "区司法局"

    def closing(due: date | None, reported: str, verified: str, window: str) -> Story:
        return (
            Story(lead, office, due=due)
            .then(reported[:8] + "01 09:00", K.DEADLINE_SET, lead, deadline=window)
            .then(reported, K.REPORTED_COMPLETION, lead)
            .then(reported, K.DEADLINE_SET, office, deadline="2026-12-20 18:00")
            .then(verified, K.VERIFIED, office)
        )

    # by the due date (its 18:00), whatever the window said; verified late, still on time
    on_due = await record(
        pool,
        closing(date(2026, 11, 10), "2026-11-10 17:00", "2026-11-18 10:00", "2026-11-01 18:00"),
        Stage.CLOSED,
    )
    after_due = await record(
        pool,
        closing(date(2026, 11, 10), "2026-11-11 09:00", "2026-11-12 10:00", "2026-11-30 18:00"),
        Stage.CLOSED,
    )
    # no due date: the deadline of the window the report answered
    by_window = await record(
        pool,
        closing(None, "2026-11-02 10:00", "2026-11-03 10:00", "2026-11-02 18:00"),
        Stage.CLOSED,
    )
    # closed in the third quarter: not this quarter's
    await record(
        pool,
        closing(None, "2026-09-02 10:00", "2026-09-03 10:00", "2026-09-02 18:00"),
        Stage.CLOSED,
    )
    report = await accountability(pool, Filters(Q4, assigning_unit=office), NOW)
    mine = unit(report, lead)
    assert (mine.closed, mine.on_time) == (3, 2)
    assert mine.on_time_rate == pytest.approx(2 / 3)
    assert {c["id"]: c["on_time"] for c in report.closed} == {
        on_due: True,
        after_due: False,
        by_window: True,
    }


async def test_filters_leave_out_other_tasks(pool: asyncpg.Pool, office: str) -> None:
    """By urgency, by assigning unit, and by the units a viewer sees."""
    lead, other = "区司法局", "区教育局"
    for who, urgency in ((lead, "urgent"), (other, "normal")):
        await record(
            pool,
            Story(who, office, urgency=urgency)  # type: ignore[arg-type]
            .then("2026-11-02 09:00", K.DEADLINE_SET, who, deadline="2026-11-03 18:00")
            .then("2026-11-03 18:00", K.MISSED, who)
            .then("2026-11-03 18:00", K.ESCALATED, who, level=1)
            .then("2026-11-04 18:00", K.ESCALATED, who, level=2)
            .then("2026-11-05 10:00", K.RECEIVED, who),
        )
    both = await accountability(pool, Filters(Q4, assigning_unit=office), NOW)
    assert {r.unit: r.own_late_days for r in both.units} == {lead: 2, other: 2}
    assert unit(both, lead).escalations == {1: 1, 2: 1}
    urgent = await accountability(pool, Filters(Q4, office, "urgent"), NOW)
    assert [r.unit for r in urgent.units] == [lead]
    seen = await accountability(pool, Filters(Q4, office, units=frozenset({other})), NOW)
    assert [r.unit for r in seen.units] == [other]
    elsewhere = await accountability(pool, Filters(Q4, assigning_unit=office + "乙"), NOW)
    assert elsewhere.units == []
