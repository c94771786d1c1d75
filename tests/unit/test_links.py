"""Action links' pure parts: what a notice asks of its reader, when its link ends, how the
outbox keeps it, and the task's refusals the link's page shows as they are (in Chinese,
written once by the task's own rules)."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from activities import links
from starter.http.links import in_chinese
from tests.unit.core_kit import LEAD, MONDAY, OFFICE, TASK_ID, make_spec, msg
from workflows.contracts import Notice, NoticeFacts, TaskState
from workflows.core.refusals import refusal
from workflows.names import NoticeKind, Stage

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def notice(kind: NoticeKind, role: str = "lead_unit", **about: object) -> Notice:
    facts = NoticeFacts(subject_unit=LEAD, **about)  # type: ignore[arg-type]
    return Notice(
        task_id="T-1",
        seq=3,
        title="完善行政执法协调机制",
        level=1,
        role=role,  # type: ignore[arg-type]
        unit=LEAD,
        kind=kind,
        about=facts,
    )


@pytest.mark.parametrize(
    ("kind", "role", "about", "asked"),
    [
        (NoticeKind.ESCALATION, "lead_unit", {"window": "receive"}, ("receive", "ack")),
        (NoticeKind.ESCALATION, "lead_unit", {"window": "deploy"}, ("ack",)),
        (NoticeKind.ESCALATION, "deputy_secretary_general", {"window": "receive"}, ("ack",)),
        (NoticeKind.REMINDER, "principal_leader", {"window": "plan"}, ("ack",)),
        (NoticeKind.WARNING, "lead_unit", {"window": "receive"}, ("receive",)),
        (NoticeKind.WARNING, "lead_unit", {"window": "progress"}, ()),
        (NoticeKind.MATTER, "office", {"matter": "difficulty"}, ("answer_difficulty",)),
        (NoticeKind.MATTER, "office", {"matter": "extension"}, ("decide_extension",)),
        (NoticeKind.MATTER, "leader_in_charge", {"matter": "disagreement"}, ("resolve",)),
        (NoticeKind.COPY, "lead_unit", {"window": "receive"}, ()),
        (NoticeKind.COPY, "co_unit", {"window": "receive"}, ()),
        (NoticeKind.RECEIVED, "lead_unit", {}, ()),
        (NoticeKind.CONTRIBUTION, "lead_unit", {}, ()),
        (NoticeKind.UNDELIVERED, "office", {}, ()),
        (NoticeKind.STALLED, "office", {"window": "receive"}, ()),
    ],
)
def test_what_a_notice_asks_of_its_reader(
    kind: NoticeKind, role: str, about: dict[str, str], asked: tuple[str, ...]
) -> None:
    assert links.asked(notice(kind, role, **about)) == asked


def test_a_notice_without_facts_asks_nothing() -> None:
    old = notice(NoticeKind.ESCALATION).model_copy(update={"about": None})
    assert links.asked(old) == ()


def test_a_link_ends_with_its_window_and_within_seven_days() -> None:
    answer_by = NOW + timedelta(hours=3)
    closes = NOW + timedelta(hours=5)
    escalation = notice(NoticeKind.ESCALATION, answer_by=answer_by, window_deadline=NOW)
    assert links.expiry(escalation, NOW) == answer_by
    warning = notice(NoticeKind.WARNING, window="receive", window_deadline=closes)
    assert links.expiry(warning, NOW) == closes
    far = notice(NoticeKind.MATTER, matter="difficulty", answer_by=NOW + timedelta(days=30))
    assert links.expiry(far, NOW) == NOW + timedelta(days=7)
    told = notice(NoticeKind.MATTER, matter="difficulty").model_copy(update={"deadline": answer_by})
    assert links.expiry(told, NOW) == answer_by


def test_the_outbox_keeps_the_address_without_its_token() -> None:
    token = "Qz8" * 14 + "x"
    url = f"https://duban.gov.example/a/{token}"
    text = f"请于 11-24 前督促反馈。办理：{url} 详情：https://ui.example/workflows/T-1"
    kept = links.masked(text, url)
    assert token not in kept
    assert "办理：https://duban.gov.example/a/*** 详情：https://ui.example/workflows/T-1" in kept
    assert links.masked(text, "") == text


def test_the_wheel_ships_the_pages() -> None:
    """pyproject.toml's package data names every template the pages render and every
    static file they load (the stylesheet, the vendored chart library)."""
    root = Path(__file__).resolve().parents[2]
    tool = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    folder = root / "starter" / "http"
    shipped = {p for pattern in tool["package-data"]["starter.http"] for p in folder.glob(pattern)}
    pages = {p for p in (folder / "templates").glob("*") if p.is_file()}
    static = {p for p in (folder / "static").glob("*") if p.is_file()}
    assert shipped == pages | static
    assert {p.name for p in pages} >= {"link.html", "base.html", "board.html"}


def test_well_formed_tokens() -> None:
    assert links.well_formed("a" * 43) and links.well_formed("A-_" * 14 + "z")
    for bad in ("", "a" * 42, "a" * 44, "a" * 42 + "/", "a" * 42 + "é", "../" + "a" * 40):
        assert not links.well_formed(bad), bad


def state(**fields: object) -> TaskState:
    return TaskState(spec=make_spec(), **fields)  # type: ignore[arg-type]


# Each refusal a link's action may meet, as the task's own rules give it: the page shows
# the reason as it is, so it is the office's Chinese (no table on the page's side).
REFUSED = [
    (
        "receive",
        msg(LEAD),
        state(stage=Stage.RECEIVED),
        f"任务 {TASK_ID} 处于“已签收”阶段；签收应在“待签收”阶段进行",
    ),
    ("receive", msg(LEAD), state(stage=Stage.CLOSED), f"任务 {TASK_ID} 已办结，不再办理任何事项"),
    ("ack", msg(LEAD), state(stage=Stage.WITHDRAWN), f"任务 {TASK_ID} 已撤回，不再办理任何事项"),
    (
        "receive",
        msg(LEAD),
        state(suspended_at=MONDAY),
        f"任务 {TASK_ID} 已由办公室暂停执行，恢复执行前不能签收",
    ),
    ("ack", msg(LEAD, role="lead_unit"), state(), f"任务 {TASK_ID} 未升级督办，无需确认"),
    (
        "ack",
        msg(LEAD, role="deputy_secretary_general"),
        state(escalation_level=2, held_at_level=2),
        "第 2 级（副秘书长）已确认此次逾期，无需重复确认",
    ),
    (
        "answer_difficulty",
        msg(OFFICE, decision="continue"),
        state(),
        f"任务 {TASK_ID} 没有待答复的执行困难",
    ),
    (
        "decide_extension",
        msg(OFFICE, decision="approve"),
        state(),
        f"任务 {TASK_ID} 没有待审批的延期申请",
    ),
    ("resolve", msg(OFFICE, text="由司法局牵头"), state(), f"任务 {TASK_ID} 没有待协调的意见分歧"),
    ("resolve", msg(OFFICE, text=""), state(), "协调意见内容为空：请写明如何解决"),
]


@pytest.mark.parametrize(("name", "message", "at", "said"), REFUSED)
def test_the_tasks_refusals_a_link_may_meet_are_chinese(
    name: str, message: object, at: TaskState, said: str
) -> None:
    reason = refusal(name, message, at, MONDAY)  # type: ignore[arg-type]
    assert reason == said
    assert not re.findall(r"[A-Za-z]{2,}", reason.replace(TASK_ID, "")), reason


def test_an_acknowledgement_at_another_level_names_the_role_to_type() -> None:
    """The one refusal a link's page may show with a word of the command line in it (the
    page checks the level first, so only a climb between the check and the send gets here)."""
    reason = refusal(
        "ack", msg(LEAD, role="deputy_secretary_general"), state(escalation_level=3), MONDAY
    )
    assert reason == (
        f"任务 {TASK_ID} 处于第 3 级督办，应由主要领导确认（--role principal_leader）；"
        "副秘书长不能确认"
    )


@pytest.mark.parametrize(
    ("said", "page"),
    [
        # The task's own and the door's reasons pass as they are ...
        (
            f"refused: 任务 {TASK_ID} 处于“已签收”阶段；签收应在“待签收”阶段进行",
            f"任务 {TASK_ID} 处于“已签收”阶段；签收应在“待签收”阶段进行",
        ),
        ("refused: 正文：不允许控制字符（U+0000）", "正文：不允许控制字符（U+0000）"),
        ("lin.er无权代表区财政局签收（任务 T-2026-3fab21cd）", None),
        # ... without what they tell the command line's operator to type ...
        ("refused: 请注明延期至哪一天（--until YYYY-MM-DD）", "请注明延期至哪一天"),
        (
            "refused: 意见分歧现由分管领导协调（--role leader_in_charge）",
            "意见分歧现由分管领导协调",
        ),
        (
            "refused: 答复执行困难须选择继续执行（continue）、暂停执行（suspend）或调整思路"
            "（new_approach）",
            "答复执行困难须选择继续执行、暂停执行或调整思路",
        ),
        # ... and the service's own lines for a task that has ended or is not there.
        ("task T-1 is withdrawn; it takes no more messages", "任务 T-1 已撤回，不再办理任何事项"),
        ("task T-1 is closed; it takes no more messages", "任务 T-1 已办结，不再办理任何事项"),
        ("task T-1 is terminated; it takes no more messages", "任务 T-1 已结束，不再办理任何事项"),
        ("no task T-9", "任务不存在"),
    ],
)
def test_a_refusal_as_a_page_says_it(said: str, page: str | None) -> None:
    assert in_chinese(said) == (said.removeprefix("refused: ") if page is None else page)
