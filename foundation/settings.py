"""One settings object: defaults from config/settings.toml, overridden by SUPERVISION_* variables."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

ENV_PREFIX = "SUPERVISION_"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def config_dir() -> Path:
    """The folder of rule and settings files (config/ of the project unless SUPERVISION_CONFIG_DIR says otherwise)."""
    return Path(os.environ.get(f"{ENV_PREFIX}CONFIG_DIR", PROJECT_ROOT / "config"))


class SettingsError(Exception):
    """A setting has a value the system cannot run with; the message names the setting."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    # Empty: the SQLite file var_dir/supervision.db (var/supervision.db with the default var_dir), so that a system
    # given another var_dir keeps all its files there.
    database_url: str = ""
    var_dir: Path = Path("var")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    secret_key: str = ""
    # The key that seals personal identifiers at rest (elders' ID numbers); empty: the secret key's.
    personal_data_key: str = ""
    token_ttl_hours: int = Field(default=12, ge=1, le=24 * 30)
    max_page_size: int = Field(default=200, ge=1, le=10_000)
    # Estates per page of the street's month table (/assessment); a city district has thousands.
    month_table_page_size: int = Field(default=100, ge=10, le=1000)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # "text" lines for a person at a terminal, or "json": one object per line for a log collector; both carry the
    # request id that every answer echoes in X-Request-Id.
    log_format: Literal["text", "json"] = "text"
    # Serve /metrics in the Prometheus text format (requests, latencies, job runs, late evidence waiting); keep it
    # from the public at the reverse proxy.
    metrics_enabled: bool = False
    # On SIGTERM a web worker stops taking connections and finishes the requests it has begun, waiting at most this
    # long for them before it closes what is left.
    graceful_shutdown_seconds: int = Field(default=30, ge=1, le=3600)
    # With several web workers, the serving process kills and replaces a worker that does not answer its ping (or
    # finish starting) within this many seconds; uvicorn's 5 s let a worker starting on a busy 2-core machine be killed.
    worker_healthcheck_seconds: int = Field(default=30, ge=5, le=600)
    debug: bool = False
    # A TrueType CJK font for PDFs (a .ttf, or a .ttc whose first face is used); empty: the Debian package
    # fonts-wqy-zenhei's file, which the README's setup installs.
    pdf_font_path: str = ""
    # The address printed in the QR code of every issued document, e.g. https://supervision.example; empty: the
    # address this server listens on (http://host:port), so that a changed port is followed.
    public_base_url: str = ""
    # The issuing authority printed under a batch's summary and payment notices (落款) and named on the verification
    # page; an estate's month report is issued by its street's office (小白楼街道办事处).
    finance_authority: str = Field(default="天津市和平区财政局", min_length=2, max_length=60)
    # The scheduler: how often a standby checks the leader lock (and the leader that it still holds it), and
    # whether the web process also runs a scheduler (single-machine setups; still only one leads).
    scheduler_poll_seconds: float = Field(default=10.0, ge=0.2, le=600)
    scheduler_in_web: bool = False
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=200 * 1024 * 1024)
    # Spreadsheet imports (supervision import, /imports): the largest file and the most rows of one sheet.
    import_max_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    import_max_rows: int = Field(default=5000, ge=1, le=100_000)
    # A photo with more pixels is refused (413) before it is decoded; the copy shown on pages and served by default
    # is scaled to this longest side (the original is kept as filed evidence).
    photo_max_pixels: int = Field(default=40_000_000, ge=1_000_000, le=200_000_000)
    photo_display_max_side: int = Field(default=2048, ge=320, le=10_000)
    # Mark the session and CSRF cookies Secure (sent over HTTPS only) and send Strict-Transport-Security: set it
    # when people reach the system through HTTPS (e.g. behind a proxy that ends TLS); false for the local demo.
    cookie_secure: bool = False
    # The login throttle: failed logins allowed per account and per calling address within the window; one more is
    # refused (429 with Retry-After) until the oldest failure leaves the window.
    login_failures_per_account: int = Field(default=5, ge=1, le=1000)
    login_failures_per_address: int = Field(default=20, ge=1, le=100_000)
    login_throttle_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # Threads that hash and check passwords (argon2), off the event loop; a flood of logins queues for them.
    password_hash_threads: int = Field(default=2, ge=1, le=64)
    # Threads that decode photos, render PDFs and build spreadsheets (foundation.heavy), off the event loop.
    heavy_work_threads: int = Field(default=2, ge=1, le=64)
    # Web worker processes of `supervision serve` (each its own event loop and share of the database connections);
    # 0: one per CPU core this process may use.
    web_workers: int = Field(default=0, ge=0, le=64)
    # Requests each web worker works on at once; more wait, the cheapest route first (foundation.web.admission).
    # 0: no limit.
    web_requests_at_once: int = Field(default=4, ge=0, le=10_000)
    # The nightly backup (`supervision backup` run by the scheduler): the folder it writes into (empty: no nightly
    # backup), how many of the newest it keeps, and the folder of PostgreSQL's pg_dump/pg_restore (empty: the newest
    # /usr/lib/postgresql/*/bin, else the PATH).
    backup_dir: str = ""
    backup_keep: int = Field(default=7, ge=1, le=366)
    postgresql_bin_dir: str = ""
    # Single sign-on with OpenID Connect (统一身份认证) beside local passwords: the provider's issuer (empty: off), this
    # system's client id and secret there, the ID token claim that carries the username or employee number, and the
    # address the provider sends people back to (empty: public_base_url + /login/sso/callback). oidc_users maps a
    # claim value to a local username; when it lists any, only those identities sign in, else the claim value is the
    # local username. Nobody is ever created by signing in.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_username_claim: str = Field(default="preferred_username", min_length=1, max_length=100)
    oidc_redirect_url: str = ""
    oidc_scopes: str = "openid profile"
    oidc_users: dict[str, str] = Field(default_factory=dict)
    # Channels beyond the in-app notices (foundation/channels.py): how long a webhook may take to answer, how many
    # attempts a message gets before it is recorded as failed, the first wait before a retry (doubled after each
    # failure), and whether (and how often) the web process sends due messages.
    channel_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    channel_max_attempts: int = Field(default=5, ge=1, le=20)
    channel_backoff_seconds: float = Field(default=30.0, ge=0, le=3600)
    channel_dispatch_in_web: bool = True
    channel_poll_seconds: float = Field(default=2.0, ge=0.1, le=600)
    # Where photos and issued documents are kept: "file" (var_dir/attachments: one machine, or a disk every web
    # machine mounts) or "postgresql" (tables of the system's own PostgreSQL database, seen by every worker on every
    # machine). `supervision blobs migrate --to ...` moves what is stored from the other one.
    blob_store: Literal["file", "postgresql"] = "file"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_dir() / "settings.toml")
        return init_settings, env_settings, toml

    @model_validator(mode="before")
    @classmethod
    def _database_in_var_dir(cls, data: Any) -> Any:
        """No database_url set (environment, file or argument): the SQLite database in var_dir, with the rest."""
        if isinstance(data, dict) and not data.get("database_url"):
            var_dir = Path(str(data.get("var_dir") or "var"))
            data = {**data, "database_url": f"sqlite+aiosqlite:///{(var_dir / 'supervision.db').as_posix()}"}
        return data

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("oidc_issuer")
    @classmethod
    def _secure_issuer(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://127.0.0.1", "http://localhost", "http://[::1]")):
            raise ValueError("must be an https:// address (plain http only for a provider on this machine)")
        return value

    @field_validator("oidc_client_id", "oidc_client_secret")
    @classmethod
    def _client_registered(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("oidc_issuer") and not value:
            raise ValueError("oidc_issuer is set: set this too (the identity provider gives it when this system is registered)")
        return value

    @model_validator(mode="after")
    def _blob_store_has_its_database(self) -> Settings:
        if self.blob_store == "postgresql" and not self.database_url.startswith("postgresql"):
            raise ValueError("blob_store = postgresql keeps the blobs in the system's database, so database_url must be a PostgreSQL one")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def resolved_web_workers(self) -> int:
        """How many web worker processes `supervision serve` starts."""
        return self.web_workers or max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)

    def resolved_secret_key(self) -> str:
        """The configured secret, or one generated once and kept in var_dir/secret.key. Processes starting at the
        same time agree on it: the file appears whole and only once (a link, which fails if another was first)."""
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            draft = path.with_name(f"secret.key.{os.getpid()}.{secrets.token_hex(4)}")
            draft.write_text(secrets.token_urlsafe(48))
            draft.chmod(0o600)
            try:
                os.link(draft, path)
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        return path.read_text().strip()


    def resolved_public_base_url(self) -> str:
        """The address documents and public links point to, without a trailing slash."""
        if self.public_base_url:
            return self.public_base_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    def resolved_personal_data_key(self) -> str:
        """The key sealing personal identifiers: its own setting, or (empty) the secret key."""
        return self.personal_data_key or self.resolved_secret_key()


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning a validation failure into a message that names the setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            if not error["loc"]:  # a rule between settings: its message names them
                lines.append(f"invalid settings: {error['msg']}")
                continue
            name = str(error["loc"][0])
            lines.append(
                f"invalid setting {ENV_PREFIX}{name.upper()} ({name} in config/settings.toml): {error['msg']}"
                f" (got {error.get('input')!r})"
            )
        raise SettingsError("; ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
