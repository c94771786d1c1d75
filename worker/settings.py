"""Settings from the environment (prefix DUBAN_), built in main(), never at import time."""

from __future__ import annotations

from datetime import time
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DUBAN_", extra="ignore")

    # PostgreSQL; unset under `duban up`, which starts an embedded server.
    database_url: SecretStr | None = None
    # Where escalation notices are POSTed as JSON; unset: notices are recorded as undelivered.
    webhook_url: str | None = None
    # The channels offices use; each is on when its address is set.
    wecom_url: str | None = None  # a WeCom group robot's webhook
    dingtalk_url: str | None = None  # a DingTalk group robot's webhook
    dingtalk_secret: SecretStr | None = None  # its signing secret (加签)
    feishu_url: str | None = None
    feishu_secret: SecretStr | None = None
    sms_url: str | None = None  # the SMS gateway
    sms_key: SecretStr | None = None
    sms_template: str = "DUBAN_NOTICE"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "duban@localhost"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    # The Temporal Web UI, for the link to the task in a notice.
    ui_url: str | None = "http://localhost:8233"
    task_queue: str = "duban"
    # Where `duban up` keeps its servers' state and where commands find that stack.
    data_dir: Path = Path(".duban")
    timezone: str = "Asia/Shanghai"
    closing_time: time = time(18, 0)  # a working-day window closes at this time
    opening_time: time = time(9, 0)  # non-urgent notices wait for working hours
    # The worker's cache of workflows held in memory between tasks.
    max_cached_workflows: int = 1000
    # Workflow tasks this worker works on at once, each on a thread of its own. Workflow
    # code is pure Python under one interpreter lock: more threads only slice the same
    # core thinner, until tasks overrun their timeout and the server hands them out again
    # (the SDK's default, 100, did that in the deadline-storm benchmark). The rest wait
    # on the server's queue, where waiting costs nothing.
    max_concurrent_workflow_tasks: int = 10
    # Prometheus metrics (the Temporal SDK's and duban's) on this port; unset: off.
    metrics_port: int | None = None
    # How long in-flight activities may run on after a stop is asked for.
    shutdown_grace_seconds: float = 20.0
