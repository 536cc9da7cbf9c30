"""`simrelay db backup PATH`: SQLite's online backup while a server writes; pg_dump for PostgreSQL."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.server import Server, auth, make_account, run_cli, server_env

pytestmark = pytest.mark.integration


class Writer(threading.Thread):
    """Sends SMS one after another until stopped; keeps the ids the server acknowledged."""

    def __init__(self, base_url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.base_url = base_url
        self.token = token
        self.acknowledged: list[str] = []
        self.stopping = threading.Event()
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            with httpx.Client(base_url=self.base_url, headers=auth(self.token), timeout=10) as http:
                while not self.stopping.is_set():
                    body = {"message": f"backup {len(self.acknowledged)}", "phone_number": "79990001122"}
                    response = http.post("/v1/sms/send", json=body)
                    response.raise_for_status()
                    self.acknowledged.append(response.json()["id"])
        except BaseException as exc:
            self.failure = exc

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count:
            assert self.failure is None, self.failure
            assert time.monotonic() < deadline, f"only {len(self.acknowledged)} SMS acknowledged"
            time.sleep(0.05)


def test_backup_while_the_server_writes_holds_every_sms_committed_before(tmp_path: Path) -> None:
    env = server_env(tmp_path / "data")
    caller = make_account(env, "backup@example.com")
    copy = tmp_path / "backups" / "simrelay.db"
    copy.parent.mkdir()
    with Server(env, tmp_path / "logs", name="backup") as server:
        writer = Writer(server.base_url, caller["token"])
        writer.start()
        try:
            writer.wait_for(20)
            committed_before = list(writer.acknowledged)
            done = run_cli(env, "db", "backup", str(copy))
            during = len(writer.acknowledged) - len(committed_before)
            writer.wait_for(len(writer.acknowledged) + 5)  # the server still writes after
        finally:
            writer.stopping.set()
            writer.join(15)
        assert writer.failure is None, writer.failure
    assert during > 0  # the copy was taken while SMS kept arriving
    size = copy.stat().st_size
    assert done.stdout.strip() == f"backed up to {copy} ({size} bytes, {size / 2**20:.1f} MiB)"
    with sqlite3.connect(copy) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        stored = {row[0] for row in db.execute("SELECT id FROM messages")}
        (revision,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
    assert set(committed_before) <= stored
    assert stored <= set(writer.acknowledged)  # nothing half-written or invented
    assert revision
    assert sorted(p.name for p in copy.parent.iterdir()) == ["simrelay.db"]  # no -wal, no partial


@pytest.fixture
def migrated(tmp_path: Path) -> dict[str, str]:
    env = server_env(tmp_path / "data")
    run_cli(env, "db", "upgrade")
    return env


def test_refuses_to_overwrite_without_force(migrated: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "existing.db"
    target.write_bytes(b"keep me")
    refused = run_cli(migrated, "db", "backup", str(target), check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == f"{target} exists: choose another path or pass --force to replace it"
    assert target.read_bytes() == b"keep me"

    forced = run_cli(migrated, "db", "backup", str(target), "--force")
    assert forced.stdout.startswith(f"backed up to {target} (")
    with sqlite3.connect(target) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_refuses_to_write_over_the_database_itself(migrated: dict[str, str], tmp_path: Path) -> None:
    database = tmp_path / "data" / "simrelay.db"
    before = database.read_bytes()
    refused = run_cli(migrated, "db", "backup", str(database), "--force", check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == f"{database} is the database itself"
    assert database.read_bytes() == before


def test_missing_database_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    env = server_env(tmp_path / "data")
    done = run_cli(env, "db", "backup", str(tmp_path / "copy.db"), check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == f"no database at {tmp_path / 'data' / 'simrelay.db'}: nothing to back up"
    assert not (tmp_path / "data" / "simrelay.db").exists()
    assert not (tmp_path / "copy.db").exists()


def test_postgresql_points_to_pg_dump_without_the_password(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://relay:hunter2@db.internal:6543/simrelay"
    env = server_env(tmp_path / "data", database_url=url)
    done = run_cli(env, "db", "backup", "/var/backups/simrelay.dump", check=False)
    assert done.returncode == 1
    assert (
        "pg_dump --format=custom --file=/var/backups/simrelay.dump --host=db.internal --port=6543 "
        "--username=relay --dbname=simrelay"
    ) in done.stderr
    assert "hunter2" not in done.stderr + done.stdout
    assert not re.search(r"Traceback", done.stderr)
