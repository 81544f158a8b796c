"""`SqliteJournal`: the `Journal` protocol on one SQLite file, the embedded default.

One file holds any number of campaigns. The file is in WAL mode with `synchronous=FULL`, so an
append is on disk when it returns and survives `kill -9` or a power cut (RELIABILITY.md,
promise 1), and readers never block the writer. Each write is one `BEGIN IMMEDIATE`
transaction: the sequence, role and lease checks and the insert see the same state, so several
processes may open the same file, each with its own connection.

Schema, version 1 (`SCHEMA_VERSION`)::

    schema_version(version)                              one row
    events(campaign, seq, type, version, at, actor_role, actor_id, experiment_id,
           payload, prev_hash, hash)                     PRIMARY KEY (campaign, seq)
    leases(campaign PRIMARY KEY, holder, token, expires_at)

`payload` is `base.canonical` JSON text, never a pickle. A lease row outlives its release
(`holder` NULL) so the fencing token keeps growing, and may exist before the campaign's first
event. Reads are verified (`base.verify`) and streamed page by page, so memory stays bounded
however long the log is; a damaged file raises `JournalCorrupt` naming the file, campaign and
seq, and is never modified by the failed read.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from daedalus.errors import JournalCorrupt
from daedalus.events import Actor
from daedalus.journal.base import (
    GENESIS,
    SYSTEM,
    Lease,
    Record,
    make_records,
    permission_error,
    refusals,
    verify,
)
from daedalus.journal.rules import (
    ROW_COLUMNS,
    check_after,
    check_append_args,
    check_append_lease,
    check_campaign,
    check_expected_seq,
    check_grant,
    check_lease_args,
    check_renew,
    from_row,
    to_row,
    unknown_campaign,
)

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 10.0
"""How long a write waits for another process's transaction before giving up."""

_PAGE = 512  # records held in memory at once while reading

_SCHEMA = (
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    """CREATE TABLE events (
        campaign TEXT NOT NULL,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        version INTEGER NOT NULL,
        at REAL NOT NULL,
        actor_role TEXT NOT NULL,
        actor_id TEXT NOT NULL,
        experiment_id TEXT,
        payload TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (campaign, seq)
    )""",
    """CREATE TABLE leases (
        campaign TEXT PRIMARY KEY,
        holder TEXT,
        token INTEGER NOT NULL,
        expires_at REAL NOT NULL
    )""",
)
_TABLES = frozenset({"schema_version", "events", "leases"})
_COLUMNS = ", ".join(ROW_COLUMNS)
_INSERT = f"INSERT INTO events ({_COLUMNS}) VALUES ({', '.join('?' * len(ROW_COLUMNS))})"
_SELECT = f"SELECT {_COLUMNS} FROM events"
# A skip-scan over the primary key: one index probe per campaign, not one per event.
_CAMPAIGNS = """
    WITH RECURSIVE names(name) AS (
        SELECT MIN(campaign) FROM events
        UNION ALL
        SELECT (SELECT MIN(campaign) FROM events WHERE campaign > names.name)
        FROM names WHERE names.name IS NOT NULL
    )
    SELECT name FROM names WHERE name IS NOT NULL
"""


class SqliteJournal:
    """An append-only event store with a writer lease per campaign, in one SQLite file.

    Args:
        path: the database file; it and its parent directory are created if missing.
        busy_timeout_s: how long to wait for another process's write transaction.

    Raises:
        JournalCorrupt: `path` is not a daedalus journal (damaged, truncated, another
            application's database, or a newer schema version).
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_s: float = BUSY_TIMEOUT_S):
        self.path = Path(path)
        self._where = str(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = _open(self.path, busy_timeout_s)

    def __enter__(self) -> SqliteJournal:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteJournal({self._where!r})"

    def append(
        self,
        campaign: str,
        events: Sequence[Any],
        *,
        actor: Actor,
        expected_seq: int,
        at: float,
        token: int | None = None,
    ) -> list[Record]:
        """Append `events` atomically after record `expected_seq`; see `Journal.append`.

        When a role may not write one of the types, the `AppendRefused` records are committed
        (as the `SYSTEM` actor) and then `PermissionDenied` is raised; none of `events` is
        written.
        """
        check_append_args(campaign, events, actor=actor, expected_seq=expected_seq, at=at)
        refused = refusals(events, actor)
        with self._transaction() as db:
            last_seq, last_hash = _tail(db, campaign)
            check_expected_seq(campaign, expected_seq, last_seq)
            if refused:
                records = make_records(
                    campaign, refused, actor=SYSTEM, at=at, last_seq=last_seq, last_hash=last_hash
                )
            else:
                current, last_token = _lease(db, campaign)
                check_append_lease(
                    campaign,
                    actor=actor,
                    token=token,
                    current=current,
                    last_token=last_token,
                    now=time.time(),
                )
                records = make_records(
                    campaign, events, actor=actor, at=at, last_seq=last_seq, last_hash=last_hash
                )
            db.executemany(_INSERT, [to_row(r) for r in records])
        if refused:
            raise permission_error(refused)
        return records

    def read(self, campaign: str, *, after: int = 0) -> Iterator[Record]:
        """Yield the campaign's records with `seq > after`, verified; see `Journal.read`.

        Reading from the middle checks record `after` itself and the link to it. Records are
        fetched a page at a time, up to the last seq at the time of the call: appends made while
        iterating are read by the next `read(after=...)`.

        Raises:
            UnknownCampaign: at the call, not at the first `next()`.
            JournalCorrupt: while iterating, at the first damaged record.
        """
        check_campaign(campaign)
        check_after(after)
        last = self.last_seq(campaign)
        if last == 0:
            raise unknown_campaign(campaign, self.campaigns(), where=self._where)
        if after > last:
            return iter(())
        prev = GENESIS if after == 0 else self._anchor(campaign, after)
        records = self._records(campaign, after, last)
        return verify(records, where=self._where, after=after, prev_hash=prev)

    def campaigns(self) -> list[str]:
        """The campaigns that have at least one record, sorted."""
        return [name for (name,) in self._query(_CAMPAIGNS, ())]

    def last_seq(self, campaign: str) -> int:
        """The campaign's last seq, 0 when it has none."""
        check_campaign(campaign)
        ((last,),) = self._query("SELECT MAX(seq) FROM events WHERE campaign = ?", (campaign,))
        return int(last or 0)

    def acquire(self, campaign: str, holder: str, *, ttl_s: float) -> Lease:
        """Take the writer lease; see `Journal.acquire` and `rules.check_grant`."""
        check_lease_args(campaign, holder, ttl_s)
        with self._transaction() as db:
            now = time.time()
            current, last_token = _lease(db, campaign)
            check_grant(campaign, current, holder, now)
            lease = Lease(campaign, holder, last_token + 1, now + ttl_s)
            db.execute(
                "INSERT INTO leases (campaign, holder, token, expires_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (campaign) DO UPDATE SET holder = excluded.holder, "
                "token = excluded.token, expires_at = excluded.expires_at",
                (campaign, holder, lease.token, lease.expires_at),
            )
        return lease

    def renew(self, lease: Lease, *, ttl_s: float) -> Lease:
        """Extend `lease` by `ttl_s` from now. Raises `LeaseHeld` ("lease lost") if it was taken."""
        check_lease_args(lease.campaign, lease.holder, ttl_s)
        with self._transaction() as db:
            now = time.time()
            check_renew(_lease(db, lease.campaign)[0], lease, now)
            renewed = Lease(lease.campaign, lease.holder, lease.token, now + ttl_s)
            db.execute(
                "UPDATE leases SET expires_at = ? WHERE campaign = ?",
                (renewed.expires_at, lease.campaign),
            )
        return renewed

    def release(self, lease: Lease) -> None:
        """Drop `lease` if it is still the current one; otherwise do nothing."""
        with self._transaction() as db:
            db.execute(
                "UPDATE leases SET holder = NULL, expires_at = 0 "
                "WHERE campaign = ? AND holder = ? AND token = ?",
                (lease.campaign, lease.holder, lease.token),
            )

    def close(self) -> None:
        """Close the connection. Calling it twice is fine."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # --- internals ---------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise ValueError(f"{self!r} is closed; open the file again")
        return self._db

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One `BEGIN IMMEDIATE` transaction: committed if the body returns, else rolled back."""
        with self._lock, _damage_is_corruption(self._where):
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        with self._lock, _damage_is_corruption(self._where):
            return self._connection().execute(sql, params).fetchall()

    def _records(self, campaign: str, after: int, last: int) -> Iterator[Record]:
        seq = after
        while True:
            rows = self._query(
                f"{_SELECT} WHERE campaign = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                (campaign, seq, last, _PAGE),
            )
            for row in rows:
                yield from_row(row, where=self._where)
            if len(rows) < _PAGE:
                return
            seq = rows[-1][1]

    def _anchor(self, campaign: str, seq: int) -> str:
        """The hash of record `seq`, after checking that record on its own."""
        rows = self._query(f"{_SELECT} WHERE campaign = ? AND seq = ?", (campaign, seq))
        if not rows:
            raise JournalCorrupt(
                f"{self._where}: campaign {campaign!r} seq {seq}: record missing (gap in the "
                f"log); cannot read after it"
            )
        (record,) = verify(
            iter([from_row(rows[0], where=self._where)]), where=self._where, after=seq - 1
        )
        return record.hash


def _open(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    db = sqlite3.connect(
        path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
    )
    try:
        with _damage_is_corruption(str(path)):
            _prepare(db, str(path), busy_timeout_s)
    except BaseException:
        db.close()
        raise
    return db


def _prepare(db: sqlite3.Connection, where: str, busy_timeout_s: float) -> None:
    """Check an existing journal before changing anything, so a file that is not one (another
    application's database) is refused untouched; create the schema in a new file."""
    db.execute("PRAGMA synchronous = FULL")  # a setting of this connection, not of the file
    tables = _tables(db)
    if tables:
        _check_schema(db, tables, where)
    _use_wal(db, busy_timeout_s)
    if not tables:
        db.execute("BEGIN IMMEDIATE")
        try:
            if not _tables(db):  # another process may have created it while we waited
                for statement in _SCHEMA:
                    db.execute(statement)
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        _check_schema(db, _tables(db), where)


def _use_wal(db: sqlite3.Connection, busy_timeout_s: float) -> None:
    """Put the file in WAL mode, waiting up to `busy_timeout_s` for another process's write.

    The switch writes the file header inside a read transaction, and SQLite does not call the
    busy handler when a read transaction is upgraded to a write (that could deadlock), so while
    another process holds a write lock on a new file the pragma fails at once with "database is
    locked" whatever the connection's timeout. Two processes creating the same journal hit
    exactly that; here the switch is retried with backoff until the timeout instead.
    """
    deadline, pause = time.monotonic() + busy_timeout_s, 0.001
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(2 * pause, 0.05)


def _check_schema(db: sqlite3.Connection, tables: set[str], where: str) -> None:
    if "schema_version" not in tables:
        raise JournalCorrupt(
            f"{where}: an SQLite database but not a daedalus journal (its tables are "
            f"{sorted(tables)}); pass the path of a daedalus journal or of a new file"
        )
    if missing := _TABLES - tables:
        raise JournalCorrupt(
            f"{where}: the daedalus journal has lost its tables {sorted(missing)}; restore the "
            f"file from a backup"
        )
    versions = [v for (v,) in db.execute("SELECT version FROM schema_version")]
    if versions != [SCHEMA_VERSION]:
        raise JournalCorrupt(
            f"{where}: journal schema version {versions}, but this daedalus reads version "
            f"{SCHEMA_VERSION}; open it with the daedalus release that wrote it"
        )


def _tables(db: sqlite3.Connection) -> set[str]:
    rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows if not name.startswith("sqlite_")}


def _tail(db: sqlite3.Connection, campaign: str) -> tuple[int, str]:
    row = db.execute(
        "SELECT seq, hash FROM events WHERE campaign = ? ORDER BY seq DESC LIMIT 1", (campaign,)
    ).fetchone()
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


def _lease(db: sqlite3.Connection, campaign: str) -> tuple[Lease | None, int]:
    """The campaign's current lease (None if released or never granted) and its last token."""
    row = db.execute(
        "SELECT holder, token, expires_at FROM leases WHERE campaign = ?", (campaign,)
    ).fetchone()
    if row is None:
        return None, 0
    holder, token, expires_at = row
    current = None if holder is None else Lease(campaign, holder, int(token), float(expires_at))
    return current, int(token)


@contextlib.contextmanager
def _damage_is_corruption(where: str) -> Iterator[None]:
    """Turn SQLite's "malformed" / "not a database" errors into `JournalCorrupt` naming the file.

    Operational errors (locked past the busy timeout, disk full, read-only) are not damage and
    pass through unchanged.
    """
    try:
        yield
    except (sqlite3.OperationalError, sqlite3.ProgrammingError):
        raise
    except sqlite3.DatabaseError as err:
        raise JournalCorrupt(
            f"{where}: the file is damaged or is not an SQLite database ({err}); restore it "
            f"from a backup, or pass the path of a new file"
        ) from err
