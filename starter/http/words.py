"""How the ledger's words read on the pages, in Chinese: events, roles, how someone came in,
channels, notice states; and the deadline a person looks at, in working days
(剩余 N 个工作日), counted with the office's calendar. Shared by the desk and the board."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import asyncpg

from activities.calendar import Overrides, WorkingCalendar, classify, load_overrides
from activities.directory import DIRECTORY_ROLE_LABELS
from activities.wording import how_late
from workflows.names import Channel, EventKind, Via
from workflows.policy import ROLE_LABELS
from workflows.windows import (
    LABELS,
    LIGHT_LABELS,
    OFFICE_TZ,
    STAGE_LABELS,
    URGENCY_LABELS,
)

EVENTS: dict[str, str] = {
    EventKind.ASSIGNED: "交办",
    EventKind.DEADLINE_SET: "设定时限",
    EventKind.WARNED: "临期预警",
    EventKind.MISSED: "逾期",
    EventKind.ESCALATED: "升级督办",
    EventKind.REMINDED: "督办提醒",
    EventKind.HELD: "暂缓升级",
    EventKind.RECEIVED: "签收",
    EventKind.CO_RECEIVED: "协办单位签收",
    EventKind.DEPLOYED: "报送部署情况",
    EventKind.REPORTED_PLAN: "报送实施计划",
    EventKind.REPORTED_PROGRESS: "报送进展情况",
    EventKind.REPORTED_COMPLETION: "报送完成情况",
    EventKind.VERIFIED: "核实销号",
    EventKind.REJECTED: "退回重办",
    EventKind.WITHDRAWN: "撤回任务",
    EventKind.ACKNOWLEDGED: "确认督办",
    EventKind.URGENCY_RAISED: "提升紧急程度",
    EventKind.DIFFICULTY_REPORTED: "报告执行困难",
    EventKind.DIFFICULTY_ANSWERED: "答复执行困难",
    EventKind.SUSPENDED: "暂停执行",
    EventKind.NEW_APPROACH: "调整思路",
    EventKind.RESUMED: "恢复执行",
    EventKind.EXTENSION_REQUESTED: "申请延期",
    EventKind.EXTENSION_APPROVED: "同意延期",
    EventKind.EXTENSION_REFUSED: "不同意延期",
    EventKind.CONTRIBUTED: "报送协办情况",
    EventKind.DISAGREEMENT_RAISED: "提出意见分歧",
    EventKind.DISAGREEMENT_RESOLVED: "协调意见分歧",
    EventKind.MATTER_OPENED: "待答复事项",
    EventKind.MATTER_ESCALATED: "事项升级",
    EventKind.MATTER_MISSED: "事项逾期未答复",
    EventKind.REPLANNED: "时限重算",
    EventKind.REMINDERS_SPENT: "提醒次数已满",
    EventKind.REFUSED: "未受理",
    EventKind.NOTICE_FAILED: "通知未送达",
}
VIA: dict[str, str] = {
    Via.CLI: "命令行",
    Via.API: "接口（个人令牌）",
    Via.OIDC: "接口（统一身份认证）",
    Via.LINK: "通知中的办理链接",
    Via.PAGE: "网页",
}
ROLES: dict[str, str] = {**ROLE_LABELS, **DIRECTORY_ROLE_LABELS, "operator": "系统操作员"}
CHANNELS: dict[str, str] = {
    Channel.WEBHOOK: "接口推送",
    Channel.WECOM: "企业微信",
    Channel.DINGTALK: "钉钉",
    Channel.FEISHU: "飞书",
    Channel.SMS: "短信",
    Channel.EMAIL: "邮件",
}
NOTICE_STATES: dict[str, tuple[str, str]] = {  # status -> (words, tone)
    "delivered": ("已送达", "done"),
    "pending": ("待发送", "wait"),
    "sending": ("发送中", "wait"),
    "retrying": ("重试中", "wait"),
    "waiting": ("等待工作时间发送", "wait"),
    "failed": ("未送达", "bad"),
    "no_channel": ("未配置通知渠道，仅记录", "bad"),
    "cancelled": ("任务已结束，不再发送", "wait"),
}
__all__ = ["LABELS", "LIGHT_LABELS", "STAGE_LABELS", "URGENCY_LABELS"]


def local(at: datetime | None) -> str:
    return at.astimezone(OFFICE_TZ).strftime("%Y-%m-%d %H:%M") if at else ""


class Clock:
    """Working days as the office counts them, with the operators' calendar table read once
    for the span a page needs."""

    def __init__(self, overrides: Overrides, now: datetime) -> None:
        self.calendar = WorkingCalendar()
        self.overrides = overrides
        self.now = now
        self.today = now.astimezone(OFFICE_TZ).date()

    @staticmethod
    async def load(pool: asyncpg.Pool, now: datetime, until: list[datetime | None]) -> Clock:
        today = now.astimezone(OFFICE_TZ).date()
        days = [d.astimezone(OFFICE_TZ).date() for d in until if d is not None]
        first = min([today, *days]) - timedelta(days=1)
        last = max([today, *days])
        return Clock(await load_overrides(pool, first, last), now)

    def working_days_to(self, day: date) -> int:
        """Working days after today up to and including `day`: 0 when it is today."""
        count, at = 0, self.today
        while at < day:
            at += timedelta(days=1)
            if classify(at, self.overrides).working:
                count += 1
        return count

    def left(self, deadline: datetime | None) -> tuple[str, bool]:
        """What a person reads of a deadline, and whether it has passed:
        剩余 3 个工作日 / 今日 18:00 截止 / 逾期 2 个工作日."""
        if deadline is None:
            return "", False
        if deadline <= self.now:
            return how_late(deadline, self.now, self.calendar, self.overrides), True
        days = self.working_days_to(deadline.astimezone(OFFICE_TZ).date())
        if days == 0:
            return f"剩余 0 个工作日（今日 {deadline.astimezone(OFFICE_TZ):%H:%M} 截止）", False
        return f"剩余 {days} 个工作日", False
