"""A notice's facts in, the office's words out: one renderer for every notice kind.

From release 3 the workflow sends facts (`Notice.about`), never words. The words come from
the office's template for the notice's kind, else the kind's default (activities.templates),
filled with the fields declared there. How late a unit is reads as an official says it:
working days and hours on the office's calendar, `刚刚逾期` under an hour."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import structlog

from activities import templates
from activities.calendar import NONE, Overrides, WorkingCalendar, classify, load_overrides
from activities.templates import DEFAULTS, FIELDS
from activities.templates import load as load_templates
from workflows.contracts import Notice, NoticeFacts
from workflows.names import NoticeKind
from workflows.policy import ROLE_LABELS
from workflows.windows import EXPECTED, LABELS, MATTER_LABELS, OFFICE_TZ, URGENCY_LABELS

log = structlog.get_logger(__name__)

_HOUR = timedelta(hours=1)
_WARNED: set[tuple[str, str]] = set()  # the stored templates that could not be used, told once
_BY_LABEL = {label: key for key, label in LABELS.items()}


def working_time(
    since: datetime, now: datetime, calendar: WorkingCalendar, overrides: Overrides = NONE
) -> timedelta:
    """The part of [since, now] inside working hours on working days."""
    start, end = since.astimezone(calendar.tz), now.astimezone(calendar.tz)
    total, day = timedelta(), start.date()
    while day <= end.date():
        if classify(day, overrides).working:
            opens = datetime.combine(day, calendar.opening, calendar.tz)
            closes = datetime.combine(day, calendar.closing, calendar.tz)
            total += max(min(closes, end) - max(opens, start), timedelta())
        day += timedelta(days=1)
    return total


def how_late(
    since: datetime, now: datetime, calendar: WorkingCalendar, overrides: Overrides = NONE
) -> str:
    """How late, counted as the windows are: time outside working hours, weekends and
    holidays does not count, and a working day is one from opening to closing."""
    worked = working_time(since, now, calendar, overrides)
    opens, closes = calendar.opening, calendar.closing
    day = timedelta(hours=closes.hour - opens.hour, minutes=closes.minute - opens.minute)
    days, rest = divmod(worked, day)
    hours = rest // _HOUR
    if days and hours:
        return f"逾期 {days} 个工作日 {hours} 小时"
    if days:
        return f"逾期 {days} 个工作日"
    if hours:
        return f"逾期 {hours} 小时"
    return "刚刚逾期"


def since_of(notice: Notice) -> datetime | None:
    """When the window the notice is about closed, if it says."""
    if notice.about is not None:
        return notice.about.window_deadline
    closed = notice.facts.get("window_deadline_iso")
    return datetime.fromisoformat(closed) if closed else None


@dataclass(frozen=True)
class Wording:
    """The office's templates and calendar as they stood when a batch was read."""

    templates: Mapping[str, str]  # the office's, by notice kind
    calendar: WorkingCalendar
    overrides: Overrides = NONE
    base_url: str | None = None  # DUBAN_PUBLIC_URL, else the Temporal Web UI

    def render(self, notice: Notice, now: datetime, action_url: str = "") -> Notice:
        """The notice with its text in the office's words; `action_url` is the action link
        made for its recipient (activities.links), where it asks something of them."""
        if notice.about is None:  # sent by a release before 3: its text came with it
            return self._before_facts(notice, now)
        fields = self.fields(notice, notice.about, now, action_url)
        text = self._fill(notice, self.templates.get(notice.kind), fields)
        return notice.model_copy(update={"text": text or fields["text"]})

    def _before_facts(self, notice: Notice, now: datetime) -> Notice:
        body = self.templates.get(notice.kind)
        # Such a copy to a co-unit gave only the co-unit: a template's {unit} would name it
        # as the late one. The text it came with names the late unit. A notice with no facts
        # at all (the weekly digest) has nothing a template could say.
        if body is None or notice.role == "co_unit" or not notice.facts:
            return notice
        fields = dict.fromkeys(FIELDS, "")
        fields.update(notice.facts)
        fields.update(self._common(notice), unit=notice.unit, text=notice.text)
        window = _BY_LABEL.get(notice.facts.get("window", ""))
        if window is not None:  # its `expected` was in English ("receipt (签收)")
            fields["expected"] = EXPECTED.get(window, "")
        closed = since_of(notice)
        if closed is not None:
            fields["window_deadline"] = self._local(closed)
            fields["late"] = self._late(closed, now)
        text = self._fill(notice, body, fields)
        return notice if text is None else notice.model_copy(update={"text": text})

    def fields(
        self, notice: Notice, about: NoticeFacts, now: datetime, action_url: str = ""
    ) -> dict[str, str]:
        """Every field of FIELDS for this notice, `text` the kind's default filled in."""
        fields = dict.fromkeys(FIELDS, "")
        fields.update(self._common(notice), unit=about.subject_unit, said=about.said)
        fields.update(self._action(action_url, fields["url"]))
        if about.window is not None:
            fields["window"] = LABELS.get(about.window, about.window)
            fields["expected"] = EXPECTED.get(about.window, "")
        if about.window_deadline is not None:
            fields["window_deadline"] = self._local(about.window_deadline)
            fields["late"] = self._late(about.window_deadline, now)
        answer_by = about.answer_by or notice.deadline
        fields["answer_by"] = self._local(answer_by) if answer_by else ""
        fields["matter"] = MATTER_LABELS[about.matter] if about.matter else ""
        fields["failed_role"] = ROLE_LABELS[about.failed_role] if about.failed_role else ""
        fields["failed_unit"] = about.failed_unit or ""
        fields["text"] = templates.fill(DEFAULTS[notice.kind], fields)
        return fields

    def _common(self, notice: Notice) -> dict[str, str]:
        url = self.url(notice.task_id)
        return {
            "title": notice.title,
            "task_id": notice.task_id,
            "recipient_unit": notice.unit,
            "role": ROLE_LABELS[notice.role],
            "level": str(notice.level),
            "urgency": URGENCY_LABELS[notice.urgency],
            "url": url,
            "link": f"详情：{url}" if url else "",
        }

    @staticmethod
    def _action(action_url: str, url: str) -> dict[str, str]:
        """{action_url} alone, and {action}: 「办理：」and it, set off from a {link} after it."""
        if not action_url:
            return {"action_url": "", "action": ""}
        return {"action_url": action_url, "action": f"办理：{action_url}" + (" " if url else "")}

    def url(self, task_id: str) -> str:
        """The task in the Temporal Web UI, at the address the office's people can reach."""
        if not self.base_url:
            return ""
        return f"{self.base_url.rstrip('/')}/namespaces/default/workflows/{task_id}"

    def _late(self, closed: datetime, now: datetime) -> str:
        return how_late(closed, now, self.calendar, self.overrides) if now > closed else ""

    def _local(self, at: datetime) -> str:
        return at.astimezone(self.calendar.tz).strftime("%Y-%m-%d %H:%M")

    @staticmethod
    def _fill(notice: Notice, body: str | None, fields: dict[str, str]) -> str | None:
        """The office's template filled in; None where there is none or it cannot be (one
        stored before the import checked as it does now): the default text goes instead,
        and the worker says so once for that template."""
        if body is None:
            return None
        try:
            return templates.fill(body, fields)
        except templates.TemplateError as err:
            if (notice.kind, body) not in _WARNED:
                _WARNED.add((notice.kind, body))
                log.warning(
                    "template not used: the default text goes instead",
                    kind=notice.kind,
                    task_id=notice.task_id,
                    error=str(err),
                )
            return None


# The notice every imported template is filled in for, of the template's own kind: a task
# late in its receipt for two working days, climbed to the deputy secretary-general.
_SAMPLE_NOW = datetime(2026, 11, 26, 10, 0, tzinfo=OFFICE_TZ)


def sample(kind: NoticeKind) -> Notice:
    closed = datetime(2026, 11, 23, 18, 0, tzinfo=OFFICE_TZ)
    facts = NoticeFacts(
        subject_unit="区司法局",
        window="receive",
        window_deadline=closed,
        answer_by=closed + timedelta(days=4),
        matter="difficulty",
        said="经费尚未落实，请求协调",
        failed_role="lead_unit",
        failed_unit="区司法局",
    )
    return Notice(
        task_id="T-2026-0001",
        seq=1,
        title="完善行政执法协调机制",
        level=2,
        role="deputy_secretary_general",
        unit="区政府办公室",
        kind=kind,
        deadline=facts.answer_by,
        urgency="important",
        about=facts,
    )


def check(kind: str, body: str) -> str | None:
    """Why the office's template for `kind` is refused, or None: its form first
    (activities.templates.check), then filled in for a sample notice of its kind, which must
    say something."""
    reason = templates.check(kind, body)
    if reason is not None:
        return reason
    notice = sample(NoticeKind(kind))
    assert notice.about is not None
    office = Wording({}, WorkingCalendar(), base_url="https://duban.example")
    try:
        text = templates.fill(body, office.fields(notice, notice.about, _SAMPLE_NOW))
    except templates.TemplateError as err:  # not after templates.check: kept all the same
        return f"template {kind!r}: {err}"
    if not text.strip():
        return f"template {kind!r}: says nothing for a {kind} notice"
    return None


async def read(
    pool: asyncpg.Pool,
    notices: Iterable[Notice],
    calendar: WorkingCalendar,
    base_url: str | None,
) -> Wording:
    """The office's templates as they are now, and its calendar from the earliest window
    these notices say is late until today: read once for a batch."""
    now = datetime.now(calendar.tz)
    since = min((at for n in notices if (at := since_of(n)) is not None), default=None)
    overrides = NONE
    if since is not None and since < now:
        overrides = await load_overrides(pool, since.astimezone(calendar.tz).date(), now.date())
    return Wording(await load_templates(pool), calendar, overrides, base_url)
