"""The HTTP service's own settings (DUBAN_*); the connection and the task queue are the
worker's (worker.settings)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

MAX_BODY = 256 * 1024  # bytes: a report of 20,000 characters is a tenth of it


class HttpSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DUBAN_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # The service as people reach it: the pages' sign-in links and the single sign-on's
    # return address point there, and an https address makes the session cookie Secure.
    http_public_url: str | None = None
    # Single sign-on: with both set, a JWT from the issuer is a credential; the claim
    # names the person's id in the directory.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_claim: str = "preferred_username"
    # Signing in to the pages with the office's provider (authorization code with PKCE):
    # the client duban is registered as there; the secret only for a confidential client.
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    # The key the pages' session cookie is signed with: the same on every instance behind
    # one load balancer. Unset: `session.key` in the data directory, made on first use.
    session_key: SecretStr | None = None
    data_dir: Path = Path(".duban")
    max_body_bytes: int = MAX_BODY
    # The Temporal Web UI (DUBAN_UI_URL, the worker's too): its origin may call the codec
    # server (/codec/decode, /codec/encode) from the browser, with credentials.
    ui_url: str | None = "http://localhost:8233"

    @property
    def public_url(self) -> str:
        return (self.http_public_url or f"http://127.0.0.1:{self.http_port}").rstrip("/")
