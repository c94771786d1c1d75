"""`duban up`'s banner: every channel that is on, no secret of a URL, and pgserver's INFO
lines kept out of the way."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import pytest

from activities.channels import build
from starter.stack import banner, channels_line, mask_url, pgserver_log
from starter.stackfile import StackInfo
from worker.settings import Settings


@pytest.fixture(autouse=True)
def no_channels_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("DUBAN_"):
            monkeypatch.delenv(name)


def test_every_channel_that_is_on_and_the_missing_webhook() -> None:
    channels = build(
        {
            "wecom_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=WECOM-KEY",
            "sms_url": "https://sms.example.gov.cn/send",
        }
    )
    assert channels_line(channels) == "企业微信, 短信 (webhook not set)"
    assert channels_line({}).startswith("none set (DUBAN_WEBHOOK_URL")


def test_all_six_channels_by_name() -> None:
    channels = build(
        {
            "webhook_url": "https://hooks.example.gov.cn/duban",
            "wecom_url": "https://wecom.example/send?key=k",
            "dingtalk_url": "https://dingtalk.example/send?access_token=t",
            "feishu_url": "https://feishu.example/hook/h",
            "sms_url": "https://sms.example/send",
            "smtp_host": "smtp.example.gov.cn",
        }
    )
    line = channels_line(channels)
    assert line == "Webhook (https://hooks.example.gov.cn/duban), 企业微信, 钉钉, 飞书, 短信, 邮件"


def test_no_user_password_or_query_string_is_printed() -> None:
    webhook = "https://ops:hunter2@hooks.example.gov.cn/duban/notices?token=T0KEN#frag"
    database = "postgresql://duban:s3cret@db.internal:5432/duban?sslpassword=PW"
    info = StackInfo(
        temporal_address="127.0.0.1:7233",
        ui_url="http://localhost:8233",
        database_url=database,
        pid=1,
    )
    channels = build({"webhook_url": webhook, "wecom_url": "https://wecom.example/s?key=KEY"})
    text = banner(info, Settings(), channels, "schedule duban-weekly-digest: already there")

    for secret in ("ops", "hunter2", "T0KEN", "frag", "s3cret", "sslpassword", "PW", "KEY"):
        assert secret not in text, secret
    assert "Webhook (https://***@hooks.example.gov.cn/duban/notices?***), 企业微信" in text
    assert "postgresql://***@db.internal:5432/duban?***" in text
    assert text.splitlines()[0] == "duban is up."
    assert mask_url("http://127.0.0.1:8080/hook") == "http://127.0.0.1:8080/hook"  # nothing hidden


def test_pgserver_info_goes_to_its_file_and_only_warnings_reach_our_log(tmp_path: Path) -> None:
    ours = io.StringIO()
    handler = logging.StreamHandler(ours)
    root = logging.getLogger()
    root.addHandler(handler)
    root_level = root.level
    root.setLevel(logging.INFO)
    pgserver = logging.getLogger("pgserver")
    try:
        with pgserver_log(tmp_path / "pgserver.log"):
            pgserver.info("Running commandline: initdb")
            pgserver.warning("Failed to stop server, killing it instead.")
        pgserver.info("after: back to the usual way")
    finally:
        root.removeHandler(handler)
        root.setLevel(root_level)
    logged = (tmp_path / "pgserver.log").read_text(encoding="utf-8")
    assert "initdb" in logged and "killing it" in logged
    assert "initdb" not in ours.getvalue()
    assert "killing it" in ours.getvalue()
    assert "after: back to the usual way" in ours.getvalue()  # the logger is as it was
