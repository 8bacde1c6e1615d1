"""A real PostgreSQL server for tests, from Debian's `postgresql` package (installed by `make test`).

Contract (pytest plugin, registered in tests/conftest.py):

``postgres_server`` (session scope): one private server for the test session, or one per worker
under pytest-xdist (each worker is its own session; nothing is shared between workers, so no
locking and no cross-worker name clashes). It runs ``initdb`` into a fresh temporary folder
(superuser ``govcloud``, trust authentication for TCP from 127.0.0.1 and for its own unix socket
only), starts it with ``pg_ctl`` listening on 127.0.0.1 only, on a free port, with its unix socket
in that folder, and stops it with ``pg_ctl stop -m fast`` at the end of the session, also when
tests failed or were interrupted (and, through a watchdog process, when the test process is
killed). Durability is switched off (fsync, synchronous_commit, full_page_writes): this server
holds nothing worth keeping. Yields a :class:`PostgresServer`:
``host``, ``port``, ``user``, ``version``, ``bindir``, ``datadir``, ``logfile``,
``startup_seconds``, ``url(dbname)`` (SQLAlchemy URL), ``conninfo(dbname)`` (libpq string),
``create_database(name=None) -> name`` and ``drop_database(name)`` (for databases that live
longer than one test, e.g. one per module).

``postgres_url`` (function scope): a new, empty database for one test, dropped (with FORCE, so a
leaked connection does not block it) after the test. Yields its SQLAlchemy URL as a string:
``postgresql+psycopg://govcloud@127.0.0.1:PORT/DBNAME`` (psycopg 3, no password).

    def test_store(postgres_url):
        engine = sqlalchemy.create_engine(postgres_url)
        ...
        engine.dispose()

When the tests run as root (CI does), ``initdb`` refuses to run; the server then runs as the
``postgres`` system user that Debian's package creates (``nobody`` if it is absent), through
``subprocess``'s ``user=``/``group=``. pytest's own temporary folders are private to root, so the
server's folder is a separate ``govcloud-pg-*`` folder in the system temporary directory, owned by
that user and removed at the end. ``initdb`` and ``pg_ctl`` are looked up in ``$GOVCLOUD_PG_BINDIR``
if set, then on PATH, then in Debian's ``/usr/lib/postgresql/<version>/bin`` (newest first). If
none is found the fixture fails (it does not skip), saying that ``make test`` installs them.
"""
from __future__ import annotations

import itertools
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

from tests.support.net import free_port

SUPERUSER = "govcloud"
DEBIAN_ROOT = Path("/usr/lib/postgresql")  # Debian's versioned server folders: DEBIAN_ROOT/<version>/bin
INSTALL_HINT = ("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin: "
                "`make test` installs Debian's `postgresql` package (or set GOVCLOUD_PG_BINDIR).")


def find_bindir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None."""

    def complete(folder: Path) -> bool:
        return all(os.access(folder / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres"))

    override = os.environ.get("GOVCLOUD_PG_BINDIR")
    if override:
        return Path(override) if complete(Path(override)) else None
    on_path = shutil.which("initdb")
    if on_path:
        folder = Path(on_path).resolve().parent  # Debian-style symlinks lead to the real folder
        if complete(folder):
            return folder

    def version_key(folder: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", folder.parent.name)) or (0,)

    debian = sorted(DEBIAN_ROOT.glob("*/bin"), key=version_key, reverse=True)
    return next((folder for folder in debian if complete(folder)), None)


def _server_account() -> pwd.struct_passwd | None:
    """None when we may run the server ourselves; else the unprivileged account to run it as."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    pytest.fail("running as root, and neither a `postgres` nor a `nobody` account exists to run PostgreSQL",
                pytrace=False)


@dataclass
class PostgresServer:
    bindir: Path
    root: Path
    port: int
    account: pwd.struct_passwd | None = field(repr=False)
    host: str = "127.0.0.1"
    user: str = SUPERUSER
    version: str = ""
    startup_seconds: float = 0.0
    _watchdog: subprocess.Popen | None = field(default=None, repr=False)
    _names: Iterator[int] = field(default_factory=itertools.count, repr=False)

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    @property
    def logfile(self) -> Path:
        return self.root / "server.log"

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3 driver) of a database on this server."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def conninfo(self, dbname: str = "postgres") -> str:
        """libpq connection string, for psycopg.connect()."""
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.conninfo(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database (a fresh name unless given) and return its name."""
        name = name or f"t{next(self._names)}_{uuid.uuid4().hex[:12]}"
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"database name {name!r}: use lower-case letters, digits and _")
        self._admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, ending any connection still open to it."""
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    # -- lifecycle -----------------------------------------------------------------------------

    def _run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
        kwargs = {}
        if self.account is not None:
            kwargs = {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8",
               "HOME": str(self.root), "TZ": "UTC"}
        return subprocess.run(argv, cwd=self.root, env=env, capture_output=True, text=True, timeout=timeout,
                              **kwargs)

    def initdb(self) -> None:
        proc = self._run(str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", SUPERUSER,
                         "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
        if proc.returncode != 0:
            raise RuntimeError(f"initdb failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        # Only the unix socket (in a folder only the server's account can enter) and 127.0.0.1.
        (self.datadir / "pg_hba.conf").write_text(
            "# written by tests/support/postgres.py\n"
            "local all all trust\n"
            "host  all all 127.0.0.1/32 trust\n")
        with (self.datadir / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# tests/support/postgres.py: a private, throw-away test server\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                "max_connections = 60\n"
                "shared_buffers = 32MB\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "log_min_messages = warning\nlog_min_error_statement = error\n")
        if self.account is not None:
            os.chown(self.datadir / "pg_hba.conf", self.account.pw_uid, self.account.pw_gid)

    def start(self) -> None:
        proc = self._run(str(self.bindir / "pg_ctl"), "start", "-D", str(self.datadir), "-l", str(self.logfile),
                         "-w", "-t", "60", "-o", f"-p {self.port}")
        if proc.returncode != 0:
            log = self.logfile.read_text(errors="replace") if self.logfile.exists() else ""
            raise RuntimeError(f"pg_ctl start failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{log}")

    def watch(self) -> None:
        """Stop the server and remove its folder if this process dies without doing so (SIGKILL, a
        crashed xdist worker): a shell, in its own session, waits for EOF on a pipe only we hold."""
        kwargs = {}
        if self.account is not None:
            kwargs = {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}
        script = 'cat >/dev/null; "$0" stop -D "$1" -m immediate -w >/dev/null 2>&1; rm -rf "$2"'
        self._watchdog = subprocess.Popen(["sh", "-c", script, str(self.bindir / "pg_ctl"), str(self.datadir),
                                           str(self.root)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, cwd=self.root, start_new_session=True, **kwargs)

    def _unwatch(self) -> None:
        if self._watchdog is not None:
            self._watchdog.kill()  # the shell goes; its `cat` ends when the pipe closes below
            self._watchdog.wait()
            self._watchdog.stdin.close()
            self._watchdog = None

    def running(self) -> bool:
        return (self.datadir / "postmaster.pid").exists()

    def stop(self) -> None:
        self._unwatch()
        if self.running():
            proc = self._run(str(self.bindir / "pg_ctl"), "stop", "-D", str(self.datadir), "-m", "fast", "-w",
                             "-t", "60")
            if proc.returncode != 0 and self.running():
                self._run(str(self.bindir / "pg_ctl"), "stop", "-D", str(self.datadir), "-m", "immediate", "-w")


def start_postgres() -> PostgresServer:
    """initdb + pg_ctl start on a free port; the caller must call stop() and remove `root`."""
    bindir = find_bindir()
    if bindir is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    account = _server_account()
    root = Path(tempfile.mkdtemp(prefix="govcloud-pg-"))  # short: unix socket paths are limited to 107 bytes
    (root / "sock").mkdir()
    if account is not None:
        for path in (root, root / "sock"):
            os.chown(path, account.pw_uid, account.pw_gid)
    version = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True).stdout.strip()
    server = PostgresServer(bindir=bindir, root=root, port=0, account=account, version=version)
    try:
        server.initdb()
        for attempt in range(3):  # a free port can be taken between choosing it and binding it
            server.port = free_port()
            try:
                server.start()
                break
            except RuntimeError:
                if attempt == 2 or "could not bind" not in server.logfile.read_text(errors="replace"):
                    raise
        server.watch()
    except BaseException:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A private PostgreSQL server for this session (this xdist worker); see the module docstring."""
    started = time.monotonic()
    server = start_postgres()
    server.startup_seconds = time.monotonic() - started
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh empty database for one test: its SQLAlchemy URL (postgresql+psycopg://...)."""
    name = postgres_server.create_database()
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.drop_database(name)
