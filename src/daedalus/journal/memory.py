"""`MemoryJournal`: the `Journal` protocol in memory, for tests, notebooks and simulated runs.

It enforces the same rules as `SqliteJournal` (sequence, roles, lease, hash chain) and stores
each record as the same flat row with canonical JSON text, so a payload that the SQLite journal
would refuse is refused here too, and a caller that mutates a returned record cannot change the
log. Nothing survives the process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any

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
    Row,
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

_WHERE = "memory journal"


class MemoryJournal:
    """An append-only event store with a writer lease per campaign, held in this process.

    Safe to share between threads. Leases use the wall clock (`time.time()`), like every
    journal, so lease expiry behaves as it does on disk.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._logs: dict[str, list[Row]] = {}
        self._leases: dict[str, Lease | None] = {}
        self._tokens: dict[str, int] = {}
        self._closed = False

    def __enter__(self) -> MemoryJournal:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MemoryJournal(campaigns={len(self._logs)})"

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
        """Append `events` atomically after record `expected_seq`; see `Journal.append`."""
        check_append_args(campaign, events, actor=actor, expected_seq=expected_seq, at=at)
        with self._lock:
            self._check_open()
            log = self._logs.get(campaign, [])
            last_seq, last_hash = (log[-1][1], log[-1][-1]) if log else (0, GENESIS)
            check_expected_seq(campaign, expected_seq, last_seq)
            refused = refusals(events, actor)
            if refused:
                records = make_records(
                    campaign, refused, actor=SYSTEM, at=at, last_seq=last_seq, last_hash=last_hash
                )
            else:
                check_append_lease(
                    campaign,
                    actor=actor,
                    token=token,
                    current=self._leases.get(campaign),
                    last_token=self._tokens.get(campaign, 0),
                    now=time.time(),
                )
                records = make_records(
                    campaign, events, actor=actor, at=at, last_seq=last_seq, last_hash=last_hash
                )
            rows = [to_row(r) for r in records]  # serialise all before storing any
            if rows:
                self._logs.setdefault(campaign, []).extend(rows)
        if refused:
            raise permission_error(refused)
        return records

    def read(self, campaign: str, *, after: int = 0) -> Iterator[Record]:
        """Yield the campaign's records with `seq > after`, verified; see `Journal.read`.

        Yields the records present at the call; appends made while iterating are read by the
        next `read(after=...)`.

        Raises:
            UnknownCampaign: at the call, not at the first `next()`.
        """
        check_campaign(campaign)
        check_after(after)
        with self._lock:
            self._check_open()
            log = self._logs.get(campaign)
            if not log:
                raise unknown_campaign(campaign, sorted(self._logs), where=_WHERE)
            end = len(log)
            if after > end:
                return iter(())
            anchor = log[after - 1][-1] if after else GENESIS  # the hash of record `after`
        # Rows [after, end) are a snapshot without a copy: the log only grows and rows are
        # immutable, so reading stays O(1) in memory however long the log is.
        rows = (log[i] for i in range(after, end))
        return verify(
            (from_row(row, where=_WHERE) for row in rows),
            where=_WHERE,
            after=after,
            prev_hash=anchor,
        )

    def campaigns(self) -> list[str]:
        """The campaigns that have at least one record, sorted."""
        with self._lock:
            self._check_open()
            return sorted(name for name, log in self._logs.items() if log)

    def last_seq(self, campaign: str) -> int:
        """The campaign's last seq, 0 when it has none."""
        check_campaign(campaign)
        with self._lock:
            self._check_open()
            return len(self._logs.get(campaign, ()))

    def acquire(self, campaign: str, holder: str, *, ttl_s: float) -> Lease:
        """Take the writer lease; see `Journal.acquire` and `rules.check_grant`."""
        check_lease_args(campaign, holder, ttl_s)
        with self._lock:
            self._check_open()
            now = time.time()
            check_grant(campaign, self._leases.get(campaign), holder, now)
            token = self._tokens.get(campaign, 0) + 1
            lease = Lease(campaign, holder, token, now + ttl_s)
            self._tokens[campaign] = token
            self._leases[campaign] = lease
            return lease

    def renew(self, lease: Lease, *, ttl_s: float) -> Lease:
        """Extend `lease` by `ttl_s` from now. Raises `LeaseHeld` ("lease lost") if it was taken."""
        check_lease_args(lease.campaign, lease.holder, ttl_s)
        with self._lock:
            self._check_open()
            now = time.time()
            check_renew(self._leases.get(lease.campaign), lease, now)
            renewed = Lease(lease.campaign, lease.holder, lease.token, now + ttl_s)
            self._leases[lease.campaign] = renewed
            return renewed

    def release(self, lease: Lease) -> None:
        """Drop `lease` if it is still the current one; otherwise do nothing."""
        with self._lock:
            self._check_open()
            current = self._leases.get(lease.campaign)
            if current is not None and (current.holder, current.token) == (
                lease.holder,
                lease.token,
            ):
                self._leases[lease.campaign] = None

    def close(self) -> None:
        """Refuse further calls; the records go with the object. Calling it twice is fine."""
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("this MemoryJournal is closed; open a new one")
