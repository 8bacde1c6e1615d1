"""The service's own state (SQLAlchemy 2): personal access tokens, sessions, pending OIDC sign-ins,
submissions with their revisions, comments, decisions and a notification outbox.

Secrets are never stored: tokens and session ids are kept as SHA-256 hashes (a leaked database
does not let anyone sign in; the values have 256 bits of entropy, so an unsalted hash suffices).
The schema is created and upgraded by the Alembic migrations in :mod:`govcloud.service.migrations`
(run at start-up), never by ``create_all``: a deployed database always has a known revision.

SQLite (the default: ``.govcloud/service.db``) runs in WAL mode with a busy timeout so that two
service processes on one workspace wait for each other instead of failing; PostgreSQL by URL.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker
from sqlalchemy.types import TypeDecorator

STATUSES = ("draft", "submitted", "withdrawn", "applied", "rejected")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UtcDateTime(TypeDecorator):
    """Timestamps are UTC and come back timezone-aware from SQLite too (which keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value


class Base(DeclarativeBase):
    pass


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))             # the first characters, to tell tokens apart
    principal: Mapped[str] = mapped_column(String(63), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(63))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class WebSession(Base):
    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    principal: Mapped[str] = mapped_column(String(63), index=True)
    authentication: Mapped[str] = mapped_column(String(10))   # token | oidc
    csrf_token: Mapped[str] = mapped_column(String(64))       # session-bound synchronizer token
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # The access token a session was opened with: revoking or expiring the token ends the session
    # (tokens are never deleted, only revoked, so no foreign key is needed to keep this meaningful).
    token_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)


class OidcLogin(Base):
    """An authorization request in flight (RFC 6749 §4.1, RFC 7636): kept server-side so that any
    service process can finish the sign-in another started, and used once."""

    __tablename__ = "oidc_logins"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(64))
    code_verifier: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Submission(Base):
    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vendor: Mapped[str] = mapped_column(String(63), index=True)
    principal: Mapped[str] = mapped_column(String(63))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    request_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    municipalities: Mapped[str] = mapped_column(Text, default="[]")   # JSON list of codes (latest revision)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # The state machine's optimistic version (docs/service-approvals.md). SQLAlchemy's version
    # counter: "This value is checked each time the ORM emits an UPDATE or DELETE against the row
    # to ensure that the value held in memory matches the database value" (SQLAlchemy 2.0,
    # "Configuring a Version Counter"): UPDATE ... WHERE id = :id AND version = :read, and a row
    # another transaction changed meanwhile raises StaleDataError instead of being overwritten.
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    # A transition that writes the workspace (approve, reject, apply) claims the row first; while
    # a claim is held, nothing else changes the submission. Cleared when the transition ends.
    claim: Mapped[str | None] = mapped_column(String(10), nullable=True)        # approve | reject | apply
    claimed_by: Mapped[str | None] = mapped_column(String(63), nullable=True)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    __mapper_args__ = {"version_id_col": version}
    revisions: Mapped[list["Revision"]] = relationship(back_populates="submission", order_by="Revision.number",
                                                       cascade="all, delete-orphan")
    comments: Mapped[list["Comment"]] = relationship(order_by="Comment.id", cascade="all, delete-orphan")
    decisions: Mapped[list["Decision"]] = relationship(order_by="Decision.id", cascade="all, delete-orphan")

    @property
    def latest(self) -> "Revision":
        return self.revisions[-1]

    @property
    def codes(self) -> list[str]:
        return json.loads(self.municipalities or "[]")


class Revision(Base):
    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("submission_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    yaml_text: Mapped[str] = mapped_column(Text)
    digest: Mapped[str | None] = mapped_column(String(80), nullable=True)
    valid: Mapped[bool] = mapped_column(Boolean)
    validation: Mapped[str] = mapped_column(Text)            # JSON: onboarding.Validation.as_dict() + summary
    principal: Mapped[str] = mapped_column(String(63))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    submission: Mapped[Submission] = relationship(back_populates="revisions")

    @property
    def result(self) -> dict:
        return json.loads(self.validation)

    @property
    def display(self) -> str:
        """The name diagnostics use for this text (RequestSource.display)."""
        return f"submissions/{self.submission_id}/revision-{self.number}.yaml"


class Comment(Base):
    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    principal: Mapped[str] = mapped_column(String(63))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Decision(Base):
    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(10))            # approve | reject | apply | withdraw
    principal: Mapped[str] = mapped_column(String(63))
    role: Mapped[str] = mapped_column(String(20))
    municipality: Mapped[str | None] = mapped_column(String(6), nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    history_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    signed_by: Mapped[str] = mapped_column(String(10), default="")   # key | service | "" (reject)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class RateBucket(Base):
    """A rate limit's token bucket shared by every service process (sign-in attempts and bad
    bearer tokens): ``tokens`` left at ``stamp`` (seconds since the epoch)."""

    __tablename__ = "rate_buckets"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    stamp: Mapped[float] = mapped_column(Float, index=True)


class OutboxMessage(Base):
    """Notifications to send (e-mail, chat): written in the same transaction as the change they
    announce; a sender outside this service delivers and marks them (transactional outbox)."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event: Mapped[str] = mapped_column(String(40))
    recipients: Mapped[str] = mapped_column(Text)             # JSON list of principal ids / roles
    payload: Mapped[str] = mapped_column(Text)                # JSON
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)


# --- engine ------------------------------------------------------------------------------------------


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):  # pragma: no cover - exercised by every SQLite test
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")       # readers never block the writer
            cur.execute("PRAGMA busy_timeout=30000")     # two processes wait for each other
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername != "postgresql+psycopg":
        raise ValueError("use the psycopg 3 driver: postgresql+psycopg://USER@HOST/DB")
    return create_engine(url, pool_pre_ping=True)


class _SerialWrites:
    """A sessionmaker whose write transactions (``Session.begin()``) take turns within this
    process. SQLite has one writer at a time; without this, threads of one process find the lock
    taken and poll with the busy handler's growing sleeps, which made the slowest submissions
    wait seconds. Other processes still wait through the busy timeout."""

    def __init__(self, maker: sessionmaker):
        self._maker = maker
        self._lock = threading.RLock()

    def __call__(self, **kw):
        return self._maker(**kw)

    @contextmanager
    def begin(self):
        with self._lock, self._maker.begin() as session:
            yield session


def session_factory(engine: Engine):
    maker = sessionmaker(engine, expire_on_commit=False)
    return _SerialWrites(maker) if engine.dialect.name == "sqlite" else maker
