"""SqliteJournal: the shared Journal contract, plus a real file, real damage and real processes."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import daedalus
from daedalus.errors import JournalCorrupt, LeaseHeld
from daedalus.events import Actor, CampaignCreated, NoteWritten, Role
from daedalus.journal.base import SYSTEM, record_hash
from daedalus.journal.rules import holder_id
from daedalus.journal.sqlite import SCHEMA_VERSION, SqliteJournal
from daedalus.testing.journal_contract import *  # noqa: F403

ANALYST = Actor(Role.ANALYST, "analyst-1")


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[SqliteJournal]:
    j = SqliteJournal(tmp_path / "journal.db")
    yield j
    j.close()


def _fill(path: Path, *, notes: int = 5) -> None:
    """Campaign 'c' with seq 1 (created) to notes + 1, and an untouched campaign 'other'."""
    with SqliteJournal(path) as j:
        for name in ("c", "other"):
            created = CampaignCreated(name=name, problem={"space": []}, settings={"seed": 1})
            j.append(name, [created], actor=SYSTEM, expected_seq=0, at=10.0)
            notes_ = [NoteWritten(text=f"note {i}", experiment_id=f"e{i}") for i in range(notes)]
            j.append(name, notes_, actor=ANALYST, expected_seq=1, at=11.0)


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def _settle(path: Path) -> str:
    """Checkpoint the WAL into the main file so it is self-contained; return its sha256."""
    db = _raw(path)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the file ----------------------------------------------------------------------------------


def test_pragmas_are_wal_and_full(journal: SqliteJournal) -> None:
    db = journal._db  # the journal's own connection: synchronous is per connection
    assert db is not None
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    other = _raw(journal.path)
    try:  # WAL is a property of the file, seen by every connection
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert other.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
    finally:
        other.close()


def test_missing_parent_directories_are_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "journal.db"
    with SqliteJournal(path) as j:
        assert j.campaigns() == []
    assert path.is_file()


def test_records_and_leases_survive_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    _fill(path)
    with SqliteJournal(path) as j:
        before = list(j.read("c"))
        lease = j.acquire("c", "runtime-a", ttl_s=60)
    with SqliteJournal(path) as j:
        assert list(j.read("c")) == before
        assert j.campaigns() == ["c", "other"] and j.last_seq("c") == 6
        with pytest.raises(LeaseHeld, match="runtime-a"):
            j.acquire("c", "runtime-b", ttl_s=60)
        j.release(lease)
        assert j.acquire("c", "runtime-b", ttl_s=60).token == 2


def test_a_closed_journal_refuses_calls(tmp_path: Path) -> None:
    j = SqliteJournal(tmp_path / "journal.db")
    j.close()
    with pytest.raises(ValueError, match="closed"):
        j.last_seq("c")


# --- damaged journals --------------------------------------------------------------------------


def _row(db: sqlite3.Connection, seq: int, column: str) -> object:
    query = f"SELECT {column} FROM events WHERE campaign = 'c' AND seq = ?"
    return db.execute(query, (seq,)).fetchone()[0]


def _set(db: sqlite3.Connection, seq: int, column: str, value: object) -> None:
    query = f"UPDATE events SET {column} = ? WHERE campaign = 'c' AND seq = ?"
    db.execute(query, (value, seq))


def _rechain(db: sqlite3.Connection) -> None:
    """Recompute every hash of campaign 'c', so only the deliberate damage is wrong."""
    rows = db.execute(
        "SELECT seq, type, version, at, actor_role, actor_id, experiment_id, payload "
        "FROM events WHERE campaign = 'c' ORDER BY seq"
    ).fetchall()
    prev = "0" * 64
    for seq, type_, version, at, role, actor_id, experiment_id, payload in rows:
        actor = Actor(role, actor_id)  # a raw string role hashes like a Role
        digest = record_hash(
            campaign="c",
            seq=seq,
            type=type_,
            version=version,
            at=at,
            actor=actor,
            experiment_id=experiment_id,
            payload=json.loads(payload),
            prev_hash=prev,
        )
        db.execute(
            "UPDATE events SET prev_hash = ?, hash = ? WHERE campaign = 'c' AND seq = ?",
            (prev, digest, seq),
        )
        prev = digest


def _edit_payload(db: sqlite3.Connection) -> None:
    _set(db, 3, "payload", str(_row(db, 3, "payload")).replace("note 1", "note X"))


def _delete_middle_row(db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM events WHERE campaign = 'c' AND seq = 3")


def _break_chain(db: sqlite3.Connection) -> None:
    _set(db, 3, "prev_hash", "f" * 64)


def _tear_last_record(db: sqlite3.Connection) -> None:
    payload = str(_row(db, 6, "payload"))
    _set(db, 6, "payload", payload[: len(payload) // 2])


def _unknown_type(db: sqlite3.Connection) -> None:
    _set(db, 3, "type", "design.teleported")
    _rechain(db)


def _unknown_version(db: sqlite3.Connection) -> None:
    _set(db, 3, "version", 99)
    _rechain(db)


def _unknown_role(db: sqlite3.Connection) -> None:
    _set(db, 3, "actor_role", "wizard")
    _rechain(db)


def _pickle_payload(db: sqlite3.Connection) -> None:
    _set(db, 3, "payload", pickle.dumps({"text": "note 1", "experiment_id": "e1"}))


def _nan_token(db: sqlite3.Connection) -> None:
    _set(db, 3, "payload", '{"experiment_id":"e1","text":NaN}')


def _payload_not_an_object(db: sqlite3.Connection) -> None:
    _set(db, 3, "payload", "[1,2]")
    _rechain(db)


# case: (damage, seq named in the error, what the error says, seqs read before it)
DAMAGE: dict[str, tuple[Callable[[sqlite3.Connection], None], int, str, list[int]]] = {
    "edited payload": (_edit_payload, 3, "record hash does not match", [1, 2]),
    "deleted middle row": (_delete_middle_row, 4, "gap in the log: expected seq 3", [1, 2]),
    "broken prev_hash chain": (_break_chain, 3, "broken hash chain", [1, 2]),
    "torn last record": (_tear_last_record, 6, "payload is not valid JSON", [1, 2, 3, 4, 5]),
    "unknown event type": (_unknown_type, 3, "unknown event type 'design.teleported'", [1, 2]),
    "unknown version": (_unknown_version, 3, "version 99; this daedalus reads version 1", [1, 2]),
    "unknown actor role": (_unknown_role, 3, "unknown actor role 'wizard'", [1, 2]),
    "pickle payload": (_pickle_payload, 3, "payload is a pickle", [1, 2]),
    "NaN token in payload": (_nan_token, 3, "non-standard JSON token NaN", [1, 2]),
    "payload not an object": (_payload_not_an_object, 3, "payload is a JSON list", [1, 2]),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_a_damaged_journal_is_refused_and_left_as_it_was(tmp_path: Path, case: str) -> None:
    damage, seq, reason, prefix = DAMAGE[case]
    path = tmp_path / "journal.db"
    _fill(path)
    db = _raw(path)
    try:
        damage(db)
    finally:
        db.close()
    digest = _settle(path)
    expected = rf"{re.escape(str(path))}: campaign 'c' seq {seq}: .*{re.escape(reason)}"
    with SqliteJournal(path) as j:
        read = []
        with pytest.raises(JournalCorrupt, match=expected):
            read.extend(r.seq for r in j.read("c"))
        assert read == prefix  # the records before the damage streamed out first
        assert len(list(j.read("other"))) == 6  # the other campaign is intact
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0


def test_reading_from_the_middle_checks_the_record_before(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    _fill(path)
    db = _raw(path)
    try:
        _edit_payload(db)
    finally:
        db.close()
    with SqliteJournal(path) as j:
        assert [r.seq for r in j.read("c", after=4)] == [5, 6]
        for after in (2, 3):  # after=3 checks record 3 itself before linking 4 to it
            with pytest.raises(JournalCorrupt, match="seq 3: record hash does not match"):
                list(j.read("c", after=after))


def test_reading_after_a_missing_record_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    _fill(path)
    db = _raw(path)
    try:
        _delete_middle_row(db)
    finally:
        db.close()
    with SqliteJournal(path) as j, pytest.raises(JournalCorrupt, match="seq 3: record missing"):
        list(j.read("c", after=3))


def _truncate_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _truncate_to_header(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:50])


def _garbage(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 40)


@pytest.mark.parametrize("damage", [_truncate_half, _truncate_to_header, _garbage])
def test_a_truncated_or_garbage_file_is_refused_naming_it(
    tmp_path: Path, damage: Callable[[Path], None]
) -> None:
    path = tmp_path / "journal.db"
    _fill(path, notes=2000)
    _settle(path)
    damage(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(JournalCorrupt, match=re.escape(str(path))), SqliteJournal(path) as j:
        list(j.read("c"))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_another_applications_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = _raw(path)
    try:
        db.execute("CREATE TABLE invoices (id INTEGER)")
    finally:
        db.close()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(JournalCorrupt, match=r"not a daedalus journal.*\['invoices'\]"):
        SqliteJournal(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_a_newer_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    _fill(path)
    db = _raw(path)
    try:
        db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    finally:
        db.close()
    digest = _settle(path)
    with pytest.raises(JournalCorrupt, match=r"schema version \[2\].*reads version 1"):
        SqliteJournal(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


# --- real processes ----------------------------------------------------------------------------

_ENV = {**os.environ, "PYTHONPATH": str(Path(daedalus.__file__).parents[1])}

LEASE_RACE = """
import sys
from daedalus.errors import LeaseHeld
from daedalus.journal.rules import holder_id
from daedalus.journal.sqlite import SqliteJournal

with SqliteJournal(sys.argv[1]) as journal:
    print("ready", flush=True)
    sys.stdin.readline()
    try:
        lease = journal.acquire("c", holder_id(), ttl_s=60)
    except LeaseHeld as err:
        print("lost", err, flush=True)
    else:
        print("won", lease.holder, flush=True)
    sys.stdin.readline()
"""

HOLD_LEASE = """
import sys, time
from daedalus.journal.rules import holder_id
from daedalus.journal.sqlite import SqliteJournal

journal = SqliteJournal(sys.argv[1])
print(journal.acquire("c", holder_id(), ttl_s=3600).holder, flush=True)
time.sleep(3600)
"""

APPEND_RACE = """
import sys
from daedalus.errors import ConcurrencyConflict
from daedalus.events import Actor, NoteWritten, Role
from daedalus.journal.sqlite import SqliteJournal

path, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
actor, written, conflicts = Actor(Role.ANALYST, name), 0, 0
with SqliteJournal(path) as journal:
    print("ready", flush=True)
    sys.stdin.readline()
    while written < n:
        note = NoteWritten(text=f"{name} {written}")
        try:
            journal.append("c", [note], actor=actor, expected_seq=journal.last_seq("c"), at=1.0)
        except ConcurrencyConflict:
            conflicts += 1
        else:
            written += 1
print(written, conflicts, flush=True)
"""


def _spawn(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=_ENV,
    )


def _line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    return process.stdout.readline().strip()


def _say(process: subprocess.Popen[str], text: str = "") -> None:
    assert process.stdin is not None
    process.stdin.write(text + "\n")
    process.stdin.flush()


def _finish(processes: list[subprocess.Popen[str]]) -> list[str]:
    """Close stdin, wait for every process and return the rest of its output."""
    outputs = []
    for p in processes:
        out, _ = p.communicate(timeout=30)
        assert p.returncode == 0, out
        outputs.append(out.strip())
    return outputs


def _start(script: str, *argvs: tuple[str, ...]) -> list[subprocess.Popen[str]]:
    """Start one process per argv, wait until each is ready, then release them together."""
    processes = [_spawn(script, *argv) for argv in argvs]
    try:
        for p in processes:
            assert _line(p) == "ready"
        for p in processes:
            _say(p, "go")
    except BaseException:
        for p in processes:
            p.kill()
            p.communicate()
        raise
    return processes


def test_two_processes_race_for_the_lease_and_exactly_one_wins(tmp_path: Path) -> None:
    path = str(tmp_path / "journal.db")
    processes = _start(LEASE_RACE, (path,), (path,))
    try:
        results = sorted(_line(p) for p in processes)
    finally:
        for p in processes:
            _say(p)
        _finish(processes)
    lost, won = results
    assert lost.startswith("lost ") and won.startswith("won ")
    winner = won.removeprefix("won ")
    pid = winner.split(":")[-2]
    assert f"held by '{winner}' (pid {pid} on host" in lost and "Stop that runtime" in lost
    with SqliteJournal(path) as j:  # the winner has exited: its lease is dead, not just stale
        assert j.acquire("c", holder_id(), ttl_s=60).token == 2


def test_a_lease_held_by_a_killed_process_is_taken_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "journal.db")
    holder = _spawn(HOLD_LEASE, path)
    try:
        held_by = _line(holder)
        with SqliteJournal(path) as j:
            with pytest.raises(LeaseHeld, match=re.escape(held_by)):
                j.acquire("c", holder_id(), ttl_s=60)
            os.kill(holder.pid, signal.SIGKILL)
            holder.communicate(timeout=30)  # reap it, or its pid would still answer
            lease = j.acquire("c", holder_id(), ttl_s=60)
            assert lease.token == 2
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.communicate()


def test_two_processes_appending_with_retries_leave_a_gap_free_chain(tmp_path: Path) -> None:
    path, n = str(tmp_path / "journal.db"), 60
    processes = _start(APPEND_RACE, (path, "a", str(n)), (path, "b", str(n)))
    outputs = _finish(processes)
    assert [int(out.split()[0]) for out in outputs] == [n, n]
    with SqliteJournal(path) as j:
        records = list(j.read("c"))  # verified: hashes, links, no gaps
    assert [r.seq for r in records] == list(range(1, 2 * n + 1))
    for name in ("a", "b"):
        texts = [r.payload["text"] for r in records if r.actor.id == name]
        assert texts == [f"{name} {i}" for i in range(n)]


def test_a_new_file_write_locked_by_another_connection_is_waited_for(tmp_path: Path) -> None:
    """Switching a new file to WAL while another connection holds its write lock fails at once
    in SQLite (no busy handler on a read-to-write upgrade); opening must wait for the lock
    instead, as two processes creating the same journal at the same moment need."""
    path = tmp_path / "journal.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: holder.execute("ROLLBACK"))
    release.start()
    try:
        with SqliteJournal(path) as j:
            j.append(
                "c", [NoteWritten(text="x")], actor=Actor(Role.ANALYST, "a"), expected_seq=0, at=1.0
            )
            assert [r.seq for r in j.read("c")] == [1]
    finally:
        release.join()
        holder.close()


def test_a_write_lock_held_past_the_busy_timeout_is_an_error_and_not_corruption(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            SqliteJournal(path, busy_timeout_s=0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with SqliteJournal(path) as j:  # nothing was left half-made
        assert j.last_seq("c") == 0
