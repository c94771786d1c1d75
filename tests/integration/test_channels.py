"""Every channel end to end against a real peer on loopback: the message arrives once, in
the peer's own format, with Chinese intact, to the person the directory resolves."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, unquote_plus, urlparse

import asyncpg
import pytest

from activities.channels._robot import dingtalk_sign, feishu_sign
from activities.channels.dingtalk import DingtalkRobot
from activities.channels.email import EmailChannel
from activities.channels.feishu import FeishuRobot
from activities.channels.sms import SmsChannel
from activities.channels.wecom import WecomRobot
from activities.notify import NotifyActivities
from tests.peers import SmtpPeer, WebhookReceiver
from workflows.contracts import Notice


def notice(level: int, role: str = "deputy_secretary_general", urgency: str = "normal") -> Notice:
    return Notice(
        task_id=f"T-ch-{uuid.uuid4().hex[:8]}",
        seq=9,
        title="完善行政执法协调机制",
        level=level,
        role=role,
        unit="区司法局",
        kind="escalation",  # type: ignore[arg-type]
        text="【督办】完善行政执法协调机制：签收已逾期，已升级至副秘书长。",
        urgency=urgency,  # type: ignore[arg-type]
    )


@pytest.fixture
def robot() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as peer:
        peer.reply = b'{"errcode": 0, "code": 0}'
        yield peer


async def test_level_three_goes_by_sms_and_the_preferred_im_once(
    pool: asyncpg.Pool, robot: WebhookReceiver, directory: None
) -> None:
    with WebhookReceiver() as gateway:
        gateway.reply = b'{"code": 0}'
        channels = {
            "wecom": WecomRobot(robot.url + "?key=k1"),
            "sms": SmsChannel(gateway.url, "api-secret", "TPL-1"),
        }
        notify = NotifyActivities(pool, channels)  # type: ignore[arg-type]
        n = notice(level=3)
        outcome = await notify.send_notice(n)
        again = await notify.send_notice(n)  # a retried activity sends nothing twice
    assert outcome.channel == "sms+wecom" and again.channel == "sms+wecom"
    assert (outcome.person, outcome.via) == ("qian.qi", "stand-in for zhao.liu")
    [sms] = gateway.received
    assert sms["to"] == "13800000005" and sms["template"] == "TPL-1"
    assert sms["_authorization"] == "Bearer api-secret" and "副秘书长" in sms["params"]["text"]
    [im] = robot.received
    assert im["msgtype"] == "text" and im["text"]["mentioned_mobile_list"] == ["13800000005"]
    assert "签收已逾期" in im["text"]["content"]
    rows = await pool.fetch(
        "SELECT channel, status, person_id FROM notifications WHERE task_id = $1 ORDER BY 1",
        n.task_id,
    )
    assert [tuple(r) for r in rows] == [
        ("sms", "delivered", "qian.qi"),
        ("wecom", "delivered", "qian.qi"),
    ]


async def test_dingtalk_signs_its_webhook(
    pool: asyncpg.Pool, robot: WebhookReceiver, directory: None
) -> None:
    notify = NotifyActivities(pool, {"dingtalk": DingtalkRobot(robot.url, "SECxyz")})
    n = notice(level=1, role="co_unit").model_copy(update={"unit": "区人社局"})  # 王五: DingTalk
    await notify.send_notice(n)
    [sent] = robot.received
    query = parse_qs(urlparse(sent["_path"]).query)
    ts = int(query["timestamp"][0])
    assert unquote_plus(dingtalk_sign("SECxyz", ts)) == query["sign"][0]
    assert sent["msgtype"] == "text" and sent["at"]["atMobiles"]


async def test_feishu_signs_its_body(
    pool: asyncpg.Pool, robot: WebhookReceiver, directory: None
) -> None:
    notify = NotifyActivities(pool, {"feishu": FeishuRobot(robot.url, "s3")})
    # Nobody in the example directory uses Feishu: the person's own channels are used
    # instead, so give 张三 a Feishu id by routing a notice he can take.
    from activities import directory as store

    d = await store.load(pool)
    zhang = d.people["zhang.san"]
    d.people["zhang.san"] = type(zhang)(**{**zhang.__dict__, "feishu": "ou_zhang"})
    await store.replace(pool, d)
    await notify.send_notice(notice(level=1, role="lead_unit"))
    [sent] = robot.received
    assert sent["msg_type"] == "text" and "签收已逾期" in sent["content"]["text"]
    assert sent["sign"] == feishu_sign("s3", int(sent["timestamp"]))


async def test_email_arrives_with_subject_and_chinese_intact(
    pool: asyncpg.Pool, directory: None
) -> None:
    with SmtpPeer() as smtp:
        email = EmailChannel("127.0.0.1", smtp.port, "duban@gov.example")
        notify = NotifyActivities(
            pool, {"email": email, "wecom": WecomRobot("http://127.0.0.1:9/none")}
        )
        # Level 2 to the principal leader (孙八): SMS and IM, neither configured here, so his
        # own reachable channel: email.
        n = notice(level=2, role="principal_leader")
        outcome = await notify.send_notice(n)
        assert outcome.channel == "email"
        [(to, message)] = smtp.messages
    assert to == ["sunba@example.gov.cn"]
    assert message["Subject"] == f"【督办】完善行政执法协调机制（{n.task_id}）第 2 级"
    assert "签收已逾期，已升级至副秘书长" in message.get_content()


async def test_a_gateway_refusal_is_final_and_recorded(pool: asyncpg.Pool, directory: None) -> None:
    from temporalio.exceptions import ApplicationError

    with WebhookReceiver() as gateway:
        gateway.status_when_failing, gateway.fail_next = 400, 5
        notify = NotifyActivities(pool, {"sms": SmsChannel(gateway.url, "k", "T")})
        n = notice(level=3, urgency="urgent")
        with pytest.raises(ApplicationError) as info:
            await notify.send_notice(n)
    assert info.value.non_retryable and "sms: HTTP 400" in str(info.value)
    row = await pool.fetchrow(
        "SELECT status FROM notifications WHERE task_id = $1 AND channel = 'sms'", n.task_id
    )
    assert row is not None and row["status"] == "failed"


def test_each_channel_reads_its_own_settings_and_is_on_only_when_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from activities.channels import build
    from worker.settings import Settings

    def build_channels(settings: Settings) -> dict[str, object]:  # worker.main's, in one line
        return dict(build(settings.model_extra))

    for name in ("WEBHOOK_URL", "WECOM_URL", "DINGTALK_URL", "FEISHU_URL", "SMS_URL", "SMTP_HOST"):
        monkeypatch.delenv(f"DUBAN_{name}", raising=False)
    assert build_channels(Settings()) == {}
    env = {
        "DUBAN_WECOM_URL": "http://127.0.0.1:9/wecom",
        "DUBAN_DINGTALK_URL": "http://127.0.0.1:9/dingtalk",
        "DUBAN_DINGTALK_SECRET": "SECenv",
        "DUBAN_SMS_URL": "http://127.0.0.1:9/sms",
        "DUBAN_SMS_KEY": "gw-key",
        "DUBAN_SMS_TEMPLATE": "TPL-9",
        "DUBAN_SMTP_HOST": "127.0.0.1",
        "DUBAN_SMTP_PORT": "2525",
        "DUBAN_SMTP_STARTTLS": "true",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # A value given in code comes before the environment's.
    channels = build_channels(Settings(sms_template="TPL-code", webhook_url="http://127.0.0.1:9/"))
    assert list(channels) == ["webhook", "wecom", "dingtalk", "sms", "email"]  # no Feishu
    wecom, dingtalk, sms, email = (channels[n] for n in ("wecom", "dingtalk", "sms", "email"))
    assert isinstance(wecom, WecomRobot) and wecom.url.endswith("/wecom")
    assert isinstance(dingtalk, DingtalkRobot) and dingtalk.secret == "SECenv"
    assert isinstance(sms, SmsChannel) and (sms.api_key, sms.template) == ("gw-key", "TPL-code")
    assert isinstance(email, EmailChannel) and (email.port, email.starttls) == (2525, True)


async def test_contacts_of_any_kind_are_kept_without_a_column_each(
    pool: asyncpg.Pool, directory: None
) -> None:
    from activities import directory as store

    d = await store.load(pool)
    zhang = d.people["zhang.san"]
    d.people["zhang.san"] = type(zhang)(**{**zhang.__dict__, "more": {"welink": "zs-001"}})
    await store.replace(pool, d)
    again = (await store.load(pool)).people["zhang.san"]
    assert (again.contact("welink"), again.contact("mobile")) == ("zs-001", "13800000001")
    assert again.contacts == {"mobile": "13800000001", "wecom": "zhangsan", "welink": "zs-001"}
    assert again.contact("feishu") is None and again.contact("telegram") is None


async def test_the_contacts_migration_keeps_every_contact(pg_url: str, tmp_path: Path) -> None:
    """A directory imported before 0005: each person's contacts move into people.contacts."""
    from activities.migrations import migrate, migrations_dir

    admin = await asyncpg.connect(pg_url)
    name = f"m{uuid.uuid4().hex[:8]}"
    await admin.execute(f"CREATE DATABASE {name}")
    conn = await asyncpg.connect(pg_url, database=name)
    try:
        older = sorted(p for p in migrations_dir().glob("*.sql") if p.name < "0005")
        for path in older:
            (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
        await migrate(conn, tmp_path)
        await conn.execute(
            "INSERT INTO people (id, name, mobile, email, wecom, prefer)"
            " VALUES ('a', '甲', '13800000009', 'a@example.gov.cn', 'wa', '{wecom}'),"
            " ('b', '乙', NULL, 'b@example.gov.cn', NULL, '{}')"
        )
        assert "0005_contacts" in await migrate(conn)
        rows = await conn.fetch("SELECT id, contacts::text FROM people ORDER BY id")
        columns = {
            r["column_name"]
            for r in await conn.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'people'"
            )
        }
    finally:
        await conn.close()
        await admin.execute(f"DROP DATABASE {name}")
        await admin.close()
    assert [(r["id"], json.loads(r["contacts"])) for r in rows] == [
        ("a", {"mobile": "13800000009", "email": "a@example.gov.cn", "wecom": "wa"}),
        ("b", {"email": "b@example.gov.cn"}),
    ]
    assert "contacts" in columns and not columns & {"mobile", "email", "wecom", "dingtalk"}
