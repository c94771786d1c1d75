"""Settings from the environment (prefix DUBAN_), built in main(), never at import time."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The ciphers a payload may be sealed with (worker.codec): AES-256-GCM, or SM4-GCM where the
# national standard is asked for (GB/T 39786).
Cipher = Literal["aes-256-gcm", "sm4-gcm"]


class Settings(BaseSettings):
    """The worker's own settings. Each notification channel declares its own in its module
    (activities/channels/): from the environment it reads them itself, and values passed
    here in code (`Settings(wecom_url=...)`) are kept as extras and handed on to it."""

    model_config = SettingsConfigDict(env_prefix="DUBAN_", extra="allow")

    # PostgreSQL; unset under `duban up`, which starts an embedded server.
    database_url: SecretStr | None = None
    # The Temporal Web UI, for the link to the task in a notice.
    ui_url: str | None = "http://localhost:8233"
    # The address the office's people reach duban at (DUBAN_PUBLIC_URL): a notice's link
    # goes there. Unset: the Web UI's address, `ui_url`.
    public_url: str | None = None
    # The HTTP service as the office's people reach it (DUBAN_HTTP_PUBLIC_URL): the action
    # links in notices point there ({this}/a/{token}). DUBAN_PUBLIC_URL names the task's
    # page in the Web UI, another service. Unset: http://127.0.0.1:{http_port}, right for
    # `duban up` on one's own machine only.
    http_public_url: str | None = None
    http_port: int = 8080  # DUBAN_HTTP_PORT, the HTTP service's (starter.http.settings)
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
    # The address the metrics endpoint listens on: loopback unless told otherwise (a
    # scraper on another host: DUBAN_METRICS_HOST=0.0.0.0, behind the cluster's network).
    metrics_host: str = "127.0.0.1"
    # The payload keys (worker.keys): `kid:base64,kid:base64`, the first seals, all open
    # (DUBAN_CODEC_KEYS); else this file (DUBAN_CODEC_KEY_FILE); else `codec.keys` in
    # data_dir, which `duban up` makes on its first start.
    codec_keys: SecretStr | None = None
    codec_key_file: Path | None = None
    codec_cipher: Cipher = "aes-256-gcm"  # DUBAN_CODEC_CIPHER: what new payloads are sealed with
    # How long in-flight activities may run on after a stop is asked for.
    shutdown_grace_seconds: float = 20.0

    @property
    def link_url(self) -> str | None:
        """Where the links in notices point: the public address, else the Web UI."""
        return self.public_url or self.ui_url

    @property
    def action_link_url(self) -> str:
        """Where the action links in notices point: the HTTP service's public address."""
        return self.http_public_url or f"http://127.0.0.1:{self.http_port}"
