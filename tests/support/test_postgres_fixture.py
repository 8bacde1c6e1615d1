"""The PostgreSQL fixtures start a real server from Debian's package and hand out isolated databases."""
from __future__ import annotations

import os
import re

import pytest
import sqlalchemy as sa

from tests.support import postgres
from tests.support.postgres import PostgresServer


def test_url_connects_with_sqlalchemy_and_psycopg(postgres_url: str, postgres_server: PostgresServer):
    url = sa.engine.make_url(postgres_url)
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port, url.username, url.password) == ("127.0.0.1", postgres_server.port, "govcloud", None)
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE submission (id serial PRIMARY KEY, body jsonb NOT NULL)"))
            conn.execute(sa.text("INSERT INTO submission (body) VALUES (CAST(:b AS jsonb))"), {"b": '{"ok": true}'})
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT body->>'ok' FROM submission")).scalar_one() == "true"
            assert conn.execute(sa.text("SELECT current_database()")).scalar_one() == url.database
            assert conn.execute(sa.text("SHOW server_version_num")).scalar_one() >= "130000"
            assert conn.execute(sa.text("SHOW listen_addresses")).scalar_one() == "127.0.0.1"
    finally:
        engine.dispose()


def test_databases_are_isolated(postgres_server: PostgresServer):
    first, second = postgres_server.create_database(), postgres_server.create_database()
    assert first != second
    engines = [sa.create_engine(postgres_server.url(name)) for name in (first, second)]
    try:
        with engines[0].begin() as conn:
            conn.execute(sa.text("CREATE TABLE only_here (x int)"))
        with engines[1].connect() as conn:
            tables = conn.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()
            assert tables == []
        # A leaked connection does not keep the database alive: dropping ends it.
        leaked = engines[0].connect()
        postgres_server.drop_database(first)
        leaked.invalidate()
        with engines[1].connect() as conn:
            names = conn.execute(sa.text("SELECT datname FROM pg_database")).scalars().all()
            assert first not in names and second in names
    finally:
        for engine in engines:
            engine.dispose()
        postgres_server.drop_database(second)


def test_each_test_gets_a_fresh_empty_database(postgres_url: str, postgres_server: PostgresServer):
    name = sa.engine.make_url(postgres_url).database
    assert re.fullmatch(r"t\d+_[0-9a-f]{12}", name)
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).scalar_one() == 0
    finally:
        engine.dispose()


def test_server_runs_unprivileged_on_loopback_only(postgres_server: PostgresServer):
    assert postgres_server.running()
    hba = (postgres_server.datadir / "pg_hba.conf").read_text()
    rules = [line.split() for line in hba.splitlines() if line.strip() and not line.startswith("#")]
    assert rules == [["local", "all", "all", "trust"], ["host", "all", "all", "127.0.0.1/32", "trust"]]
    owner = os.stat(postgres_server.datadir).st_uid
    assert owner != 0 or os.geteuid() != 0  # never root: initdb refuses it, and so should we
    assert postgres_server.startup_seconds < 30


def test_missing_binaries_fail_with_the_install_hint(monkeypatch, tmp_path):
    monkeypatch.delenv("GOVCLOUD_PG_BINDIR", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(postgres, "DEBIAN_ROOT", tmp_path / "usr-lib-postgresql")
    assert postgres.find_bindir() is None
    with pytest.raises(pytest.fail.Exception, match=r"`make test` installs Debian's `postgresql` package"):
        postgres.start_postgres()


def test_debian_folder_is_found_when_not_on_path(monkeypatch, tmp_path):
    for version in ("13", "16"):
        folder = tmp_path / version / "bin"
        folder.mkdir(parents=True)
        for tool in ("initdb", "pg_ctl", "postgres"):
            (folder / tool).write_text("#!/bin/sh\n")
            (folder / tool).chmod(0o755)
    monkeypatch.delenv("GOVCLOUD_PG_BINDIR", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(postgres, "DEBIAN_ROOT", tmp_path)
    assert postgres.find_bindir() == tmp_path / "16" / "bin"  # the newest version
