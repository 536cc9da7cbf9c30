"""Settings: every knob comes from SIMRELAY_* environment variables (or a .env file)."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_FILE = "secret_key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIMRELAY_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./data")
    """Where the default SQLite database, the generated secret key and the first-run token live."""

    database_url: str = ""
    """SQLAlchemy async URL. Empty means `sqlite+aiosqlite:///<data_dir>/simrelay.db`."""

    redis_url: str | None = None
    """Redis for shared rate limits across server nodes. None: in-process limits."""

    secret_key: SecretStr | None = None
    """Signs API tokens. None: generated on first start and kept in `<data_dir>/secret_key`."""

    rate_limit: int = Field(default=10, ge=0)
    """Requests per second per account per endpoint; 0 disables the limit."""

    max_message_length: int = Field(default=1000, ge=1)
    """Longest accepted SMS text, in characters."""

    max_body_bytes: int = 64 * 1024
    """Larger request bodies are refused with 413 / 1012."""

    max_bulk_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    """The same for `POST /v1/sms/bulk`, whose 10,000 recipients need more (400 bytes each)."""

    max_header_bytes: int = Field(default=32 * 1024, ge=1024)
    """A request line and headers larger than this together are refused with 431."""

    request_timeout_seconds: float = Field(default=20.0, gt=0)
    """A request's head, and then its body, must arrive within this, plus a second for every
    500 bytes received (a slow but steady client gets through); otherwise 408 and the connection
    closes. A new connection must send its first request within it too."""

    keepalive_seconds: int = Field(default=75, ge=1)
    """An idle connection between requests is closed after this. Longer than clients keep idle
    connections (httpx 5 s; Go's 90 s is the outlier): with uvicorn's default of 5 s, a client
    reusing a connection at the moment the server closes it gets a read error on a request the
    server never saw."""

    max_connections_per_address: int = Field(default=1024, ge=0)
    """Open connections one client address (an IPv6 /64) may hold per worker; more are answered
    429. 0 turns the bound off (behind a reverse proxy every client shares its address)."""

    idempotency_ttl_seconds: int = 24 * 3600
    """How long an Idempotency-Key is remembered."""

    sqlite_synchronous: str = "FULL"
    """PRAGMA synchronous for SQLite. FULL survives power loss; group commit keeps it cheap."""

    access_log: bool = True
    """One JSON log line per request. Errors are always logged."""

    log_level: str = "INFO"

    public_url: str = "http://127.0.0.1:8000"
    """The server's address as devices reach it: what pairing QR codes carry."""

    heartbeat_seconds: float = Field(default=30.0, gt=0)
    """How often devices report; silent for three intervals closes the link."""

    lease_seconds: float = Field(default=60.0, gt=0)
    """How long a device holds an offered SMS before it is asked to drop it."""

    lease_hard_seconds: float = Field(default=600.0, gt=0)
    """After this, an SMS whose device never confirmed the drop goes back to status 0 anyway."""

    max_attempts: int = Field(default=3, ge=1)
    """Offers of one SMS before it ends in status 3."""

    device_window: int = Field(default=8, ge=1)
    """Offers a device may have outstanding (offered, not yet reported sent or failed)."""

    dispatch_tick_seconds: float = Field(default=1.0, gt=0)
    """Safety net: how often each node looks for work and expired leases without being woken."""

    ussd_wait_seconds: float = Field(default=30.0, ge=0, le=600)
    """POST /v1/devices/ussd waits this long for the device's answer, then answers `pending`."""
    ussd_expire_seconds: float = Field(default=180.0, gt=0)
    """A USSD request not answered this long after it was made ends as `timeout`."""

    # Pacing defaults for new devices: Android itself allows an app 30 SMS per 30 minutes
    # unless the user lifts it, and operators flag consumer SIMs that send in bursts, so a
    # new device sends at most a few a minute with human-looking gaps.
    send_interval_min: float = Field(default=5.0, ge=0)
    """Seconds, at least, between two SMS from one SIM."""
    send_interval_max: float = Field(default=15.0, ge=0)
    """Seconds, at most; each gap is drawn between min and max."""
    limit_per_minute: int = Field(default=4, ge=0)
    limit_per_hour: int = Field(default=60, ge=0)
    limit_per_day: int = Field(default=300, ge=0)
    """SMS per SIM per minute, hour and (rolling) day; 0 turns a limit off."""

    open_signup: bool = False
    """Anyone may create an account in the panel. Off: accounts come from an admin (the CLI)."""
    panel_session_hours: float = Field(default=168.0, gt=0)
    """How long a panel sign-in lasts."""

    mobile_private_token: SecretStr | None = None
    """SMS Gateway for Android: a server-wide token the app can register with (its "Private
    Token" setting). None: the app registers with a pairing code or the account's login."""
    mobile_account: str = ""
    """The account (email) that devices registered with the private token join."""
    mobile_ping_seconds: int = Field(default=10, ge=0)
    """Pushed to the app: it pings, and so fetches its SMS, this often (0 leaves it off)."""

    webhook_allow_private: bool = False
    """Allow webhook URLs on loopback and private networks (self-hosted receivers, tests)."""
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    """One delivery attempt: connect, send and the first byte of the answer."""
    webhook_concurrency: int = Field(default=32, ge=1)
    """Attempts in flight at once, per server process."""
    webhook_retry_delays: list[float] = [5, 300, 1800, 7200, 18000, 36000, 36000]
    """Seconds before each retry after the first, immediate attempt: about 27.6 hours in all."""
    webhook_disable_after_seconds: float = Field(default=5 * 86400.0, gt=0)
    """A webhook failing continuously this long is switched off."""
    webhook_tick_seconds: float = Field(default=1.0, gt=0)
    """How often each process looks for retries that came due."""
    webhook_log_days: float = Field(default=30.0, gt=0)
    """Finished events and their delivery log are kept this long."""

    smpp_port: int | None = Field(default=None, ge=0, le=65535)
    """Listen for SMPP 3.4 clients on this port (docs/smpp.md); None: no SMPP server."""
    smpp_host: str = "127.0.0.1"
    """Address the SMPP server listens on (`simrelay serve --host` sets it too)."""
    smpp_window: int = Field(default=10, ge=1)
    """submit_sm worked on at once per session; past that the session stops reading."""
    smpp_bind_seconds: float = Field(default=30.0, gt=0)
    """A connection that has not bound by then is closed."""
    smpp_concat_seconds: float = Field(default=60.0, gt=0)
    """All parts of a long message must arrive within this, or none is stored."""
    smpp_tls_port: int | None = Field(default=None, ge=0, le=65535)
    """Also listen for SMPP over TLS on this port (needs smpp_tls_cert and smpp_tls_key)."""
    smpp_tls_cert: Path | None = None
    """PEM certificate chain of the SMPP TLS port."""
    smpp_tls_key: Path | None = None
    """PEM private key of the SMPP TLS port."""
    smpp_max_sessions: int = Field(default=1000, ge=1)
    """SMPP connections each worker process serves at once; more are closed as they come."""
    smpp_link_seconds: float = Field(default=60.0, gt=0)
    """A bound client silent this long is sent an enquire_link; silent as long again, dropped."""
    smpp_answer_seconds: float = Field(default=30.0, gt=0)
    """How long a deliver_sm waits for its answer before it is sent again (to any session)."""
    smpp_hold_days: float = Field(default=7.0, gt=0)
    """Receipts and MO that no receiver bind took in this long are dropped."""

    smpp_route_check_seconds: float = Field(default=5.0, gt=0)
    """How often each process claims SMPP routes (docs/smpp.md, Routes); a claim lasts six times
    this, so a dead process's routes are taken over within that."""
    smpp_route_reconnect_seconds: float = Field(default=1.0, gt=0)
    """A route's first pause before binding again after its SMSC link dropped; it doubles on
    each failed try, up to 60 seconds."""
    smpp_route_enquire_seconds: float = Field(default=30.0, gt=0)
    """A bound route sends enquire_link this often; an SMSC silent for as long counts as gone."""

    @model_validator(mode="after")
    def _tls_needs_a_certificate(self) -> Settings:
        if self.smpp_tls_port is not None and (self.smpp_tls_cert is None or self.smpp_tls_key is None):
            raise ValueError("SIMRELAY_SMPP_TLS_PORT needs SIMRELAY_SMPP_TLS_CERT and SIMRELAY_SMPP_TLS_KEY")
        return self

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'simrelay.db').resolve()}"

    def resolved_secret_key(self) -> str:
        """The token signing key; creates and keeps one in the data dir if none is configured."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / SECRET_FILE
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.touch(mode=0o600)
        path.write_text(key + "\n")
        return key
