"""The renderer without a database: how late reads in working days and hours on China's
calendar, each kind's default text from its facts, the office's template over it, links."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
import structlog

from activities.calendar import Override, Overrides, WorkingCalendar
from activities.templates import DEFAULTS, KINDS, check
from activities.wording import Wording, how_late
from activities.wording import check as wording_check
from worker.settings import Settings
from workflows.contracts import Notice, NoticeFacts
from workflows.names import NoticeKind

CST = timezone(timedelta(hours=8))
CALENDAR = WorkingCalendar()


def at(m: int, d: int, hour: int = 18, minute: int = 0, y: int = 2026) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=CST)


@pytest.mark.parametrize(
    ("closed", "now", "said"),
    [
        (at(11, 24), at(11, 24, 18, 20), "刚刚逾期"),  # Tuesday, twenty minutes on
        (at(11, 24), at(11, 24, 23, 30), "刚刚逾期"),  # the evening is not working time
        (at(11, 24), at(11, 25, 8, 59), "刚刚逾期"),  # nor the night
        (at(11, 24), at(11, 25, 12, 0), "逾期 3 小时"),
        (at(11, 24), at(11, 25, 12, 59), "逾期 3 小时"),  # whole hours only
        (at(11, 24), at(11, 25, 18, 0), "逾期 1 个工作日"),
        (at(11, 24), at(11, 26, 13, 0), "逾期 1 个工作日 4 小时"),
        (at(11, 24), at(11, 26, 21, 0), "逾期 2 个工作日"),
        (at(11, 23), at(11, 30, 18, 0), "逾期 5 个工作日"),
        (at(11, 24, 12), at(11, 24, 15, 30), "逾期 3 小时"),  # a window closing at noon
        (at(11, 24, 12), at(11, 25, 12, 0), "逾期 1 个工作日"),
        # Friday to Monday: the weekend does not count.
        (at(11, 20), at(11, 23, 10, 30), "逾期 1 小时"),
        (at(11, 20), at(11, 23, 18, 0), "逾期 1 个工作日"),
        (at(11, 20, 12), at(11, 23, 12, 0), "逾期 1 个工作日"),
        # National Day (1-7 October) does not count; Saturday 10 October is a working day.
        (at(9, 30), at(10, 8, 18, 0), "逾期 1 个工作日"),
        (at(9, 30), at(10, 7, 23, 0), "刚刚逾期"),
        (at(10, 9), at(10, 10, 18, 0), "逾期 1 个工作日"),
        (at(10, 9), at(10, 12, 11, 0), "逾期 1 个工作日 2 小时"),
        # Given in UTC: the same instant, the same answer.
        (at(11, 24).astimezone(UTC), at(11, 25, 12).astimezone(UTC), "逾期 3 小时"),
    ],
)
def test_how_late_reads_as_an_official_says_it(closed: datetime, now: datetime, said: str) -> None:
    assert how_late(closed, now, CALENDAR) == said
    assert "逾期 0" not in said


def test_how_late_follows_the_office_s_table_and_its_hours() -> None:
    # The operators made Wednesday 25 November a day off: Tuesday to Thursday is one day.
    off = Overrides({date(2026, 11, 25): Override("holiday", "停电")}, frozenset({2026}))
    assert how_late(at(11, 24), at(11, 26, 18), CALENDAR, off) == "逾期 1 个工作日"
    assert how_late(at(11, 24), at(11, 26, 18), CALENDAR) == "逾期 2 个工作日"
    # An office open 08:30 to 17:30: its working day is nine hours too, from 08:30.
    early = WorkingCalendar(closing=time(17, 30), opening=time(8, 30))
    assert how_late(at(11, 24, 17, 30), at(11, 25, 9, 30), early) == "逾期 1 小时"
    assert how_late(at(11, 24, 17, 30), at(11, 25, 17, 30), early) == "逾期 1 个工作日"


def notice(kind: str, about: NoticeFacts | None, **fields: object) -> Notice:
    values: dict[str, object] = {
        "task_id": "T-2026-3f9c21ab",
        "seq": 4,
        "title": "完善行政执法协调机制",
        "level": 2,
        "role": "deputy_secretary_general",
        "unit": "区司法局",
        "kind": kind,
        "about": about,
        "deadline": at(11, 26),
    }
    values.update(fields)
    return Notice.model_validate(values)


LATE = NoticeFacts(
    subject_unit="区司法局", window="receive", window_deadline=at(11, 24), answer_by=at(11, 26)
)
NOW = at(11, 26, 13)  # Thursday 13:00: one working day and four hours late


def test_an_escalation_in_the_default_words() -> None:
    words = Wording({}, CALENDAR, base_url="https://duban.gov.example/")
    text = words.render(notice("escalation", LATE), NOW).text
    assert text == (
        "【督办】完善行政执法协调机制（T-2026-3f9c21ab）：区司法局签收（应于 2026-11-24 18:00"
        " 前签收）逾期 1 个工作日 4 小时，现升级至副秘书长（第 2 级），请于 2026-11-26 18:00"
        " 前督促反馈。详情：https://duban.gov.example/namespaces/default/workflows/T-2026-3f9c21ab"
    )
    # With no address there is no link, and nothing dangles.
    bare = Wording({}, CALENDAR).render(notice("escalation", LATE), NOW).text
    assert bare.endswith("前督促反馈。") and "详情" not in bare


def test_a_copy_to_a_co_unit_names_the_late_unit() -> None:
    copy = notice("copy", LATE, role="co_unit", unit="区人社局")
    text = Wording({}, CALENDAR).render(copy, NOW).text
    assert "区司法局签收" in text and "区人社局" not in text
    office = Wording({"copy": "{unit}逾期，抄送{recipient_unit}。{text}"}, CALENDAR)
    text = office.render(copy, NOW).text
    assert text.startswith("区司法局逾期，抄送区人社局。【督办抄送】")


def test_the_office_s_template_replaces_the_default_kind_by_kind() -> None:
    words = Wording({"escalation": "{unit}{window}{late}，请{role}督促。"}, CALENDAR)
    assert words.render(notice("escalation", LATE), NOW).text == (
        "区司法局签收逾期 1 个工作日 4 小时，请副秘书长督促。"
    )
    # A kind the office left alone keeps its default; a template that cannot be filled in
    # (imported before the import checked it) gives way to the default too.
    broken = Wording({"escalation": "{level:d}"}, CALENDAR)
    assert broken.render(notice("escalation", LATE), NOW).text.startswith("【督办】")
    warned = words.render(notice("warning", LATE, role="lead_unit"), at(11, 24, 9))
    assert warned.text.startswith("【督办预警】") and "请区司法局按时签收" in warned.text


def test_a_notice_from_before_release_3_keeps_its_words() -> None:
    old = notice(
        "escalation",
        None,
        text="【督办】区司法局签收已逾期。",
        facts={
            "role": "副秘书长",
            "window": "签收",
            "expected": "receipt (签收)",
            "answer_by": "2026-11-26 18:00",
            "window_deadline_iso": at(11, 24).isoformat(),
        },
    )
    assert Wording({}, CALENDAR).render(old, NOW).text == "【督办】区司法局签收已逾期。"
    office = Wording({"escalation": "{unit}应{expected}，{late}（{answer_by}）"}, CALENDAR)
    assert (
        office.render(old, NOW).text == "区司法局应签收，逾期 1 个工作日 4 小时（2026-11-26 18:00）"
    )
    # Such a copy to a co-unit knew only the co-unit: its own text names the late unit.
    copy = old.model_copy(update={"kind": "copy", "role": "co_unit", "unit": "区人社局"})
    assert Wording({"copy": "{unit}逾期"}, CALENDAR).render(copy, NOW).text == copy.text
    # A notice with no facts (the weekly digest) keeps its text whatever the office wrote.
    digest = notice("info", None, task_id="DIGEST-2026-W48", text="督办周报：逾期（2）")
    assert Wording({"info": "{title}：{said}"}, CALENDAR).render(digest, NOW).text == digest.text


def test_every_kind_has_a_default_that_passes_the_import_check() -> None:
    assert set(DEFAULTS) == set(KINDS) == set(NoticeKind)
    for kind, body in DEFAULTS.items():
        assert check(kind, body) is None, kind


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{owner}", "unknown field {owner}"),
        ("{title.upper}", "{title.upper}: a field is a plain name"),
        ("{}", "unknown field {}"),
        ("{level:d}", "cannot be filled in"),
        ("{title:{width}}", "cannot be filled in"),
        ("{title", "template 'copy': "),
    ],
)
def test_the_import_check_refuses_what_could_not_be_filled_in(body: str, reason: str) -> None:
    refused = check("copy", body)
    assert refused is not None and reason in refused
    assert check("copy", "{title}{recipient_unit}{action_url}{matter}{said}{url}") is None


# What passed `templates import` before the sandbox, and then failed every notice of its kind
# (or filled one with ten million spaces, or quoted a field as Python would).
HOSTILE_TEMPLATES = [
    ("{title:d}", "the format {title:d}"),
    ("{title:{text.__class__.__mro__}}", "the format {title:{text.__class__.__mro__}}"),
    ("{title:{level}}", "the format {title:{level}}"),  # "2" at send time: a width then
    ("{text.__class__}", "{text.__class__}: a field is a plain name"),
    ("{a[0]}", "{a[0]}: a field is a plain name"),
    ("{title:>99999999999}", "a width of at most 40"),
    ("{title:>9999999}", "a width of at most 40"),
    ("{title!r}", "{title!r}: no conversions"),
    ("{title!s:>5}", "{title!s}: no conversions"),
    ("{title:=^30}", "the format {title:=^30}"),
    ("{action_url}", "says nothing for a copy notice"),
    ("【督办】\x1b[31m{title}", "模板正文：不允许控制字符（U+001B）"),
    ("{title}" * 41, "more than 40 fields"),
    ("督" * 2001, "模板正文 2001 字，最多 2000 字"),
]


@pytest.mark.parametrize(("body", "reason"), HOSTILE_TEMPLATES)
def test_the_sandbox_refuses_at_import_what_would_fail_or_flood_a_notice(
    body: str, reason: str
) -> None:
    refused = wording_check("copy", body)
    assert refused is not None and reason in refused, refused


def test_the_sandbox_allows_plain_fields_and_a_modest_width() -> None:
    assert wording_check("copy", "{title:>8}｜{unit:<6}｜{level:^3}：{text}") is None
    words = Wording({"copy": "[{unit:>6}]{level:^3}|"}, CALENDAR)
    assert words.render(notice("copy", LATE), NOW).text == "[  区司法局] 2 |"


def test_a_stored_template_that_cannot_be_filled_gives_way_to_the_default_once_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A template stored before the sandbox: every notice of its kind still goes, in the
    default words, and the worker says so once, not once a notice."""
    for body, _ in HOSTILE_TEMPLATES[:10]:
        words = Wording({"escalation": body}, CALENDAR)
        with structlog.testing.capture_logs() as logs:
            texts = [words.render(notice("escalation", LATE), NOW).text for _ in range(3)]
        assert texts == [Wording({}, CALENDAR).render(notice("escalation", LATE), NOW).text] * 3
        assert len([e for e in logs if e["event"].startswith("template not used")]) == 1, body


def test_links_go_to_the_public_address_else_the_web_ui(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUBAN_PUBLIC_URL", raising=False)
    monkeypatch.delenv("DUBAN_UI_URL", raising=False)
    assert Settings().link_url == "http://localhost:8233"
    monkeypatch.setenv("DUBAN_UI_URL", "http://temporal.internal:8080")
    assert Settings().link_url == "http://temporal.internal:8080"
    monkeypatch.setenv("DUBAN_PUBLIC_URL", "https://duban.gov.example")
    assert Settings().link_url == "https://duban.gov.example"
