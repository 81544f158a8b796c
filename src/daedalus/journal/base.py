"""The `Journal` protocol, its record envelope, and the hash chain every implementation shares.

A journal holds one append-only log per campaign. `seq` starts at 1 and is gap-free per
campaign. Each record's `hash` is SHA-256 over its canonical JSON (campaign, seq, type, version,
at, actor, experiment_id, payload, prev_hash), and `prev_hash` is the previous record's hash
(`GENESIS` for seq 1), so any edit, deletion or torn write is detected on read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from daedalus.errors import JournalCorrupt, PermissionDenied
from daedalus.events import Actor, AppendRefused, Role, from_payload, may_append, to_payload

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class Record:
    """One stored event with its envelope."""

    campaign: str
    seq: int
    type: str
    version: int
    at: float
    actor: Actor
    experiment_id: str | None
    payload: Mapping[str, Any]
    prev_hash: str
    hash: str
    # The typed event once built (by `verify` or `event`): events are immutable, so a record read
    # and verified is decoded once, not again when replayed. Not part of the record's value.
    _event: Any = field(default=None, init=False, compare=False, repr=False)

    def event(self) -> Any:
        """The typed event. Raises `JournalCorrupt` for an unknown type or version."""
        try:
            return _decoded(self)
        except JournalCorrupt as err:
            raise JournalCorrupt(f"campaign {self.campaign!r} seq {self.seq}: {err}") from err


def _decoded(record: Record) -> Any:
    """`record`'s typed event, built once and kept on the (frozen) record."""
    if record._event is None:
        object.__setattr__(
            record, "_event", from_payload(record.type, record.version, record.payload)
        )
    return record._event


@dataclass(frozen=True, slots=True)
class Lease:
    """The right to write a campaign's operational events. `token` grows with every grant and
    fences out a writer that lost its lease; `expires_at` is unix time."""

    campaign: str
    holder: str
    token: int
    expires_at: float


@runtime_checkable
class Journal(Protocol):
    """An append-only event store with a writer lease per campaign."""

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
        """Append `events` atomically after record `expected_seq` (0 for a new campaign).

        Raises:
            ConcurrencyConflict: the campaign's last seq is not `expected_seq`; nothing written.
            PermissionDenied: `actor.role` may not write one of the types; an `AppendRefused`
                record is written instead.
            LeaseHeld: `token` is stale, or another runtime holds the lease and this is not a
                person's event.
        """
        ...

    def read(self, campaign: str, *, after: int = 0) -> Iterator[Record]:
        """Yield the campaign's records with `seq > after`, verified, in order.

        Raises:
            JournalCorrupt: naming the seq and what is wrong (hash, link, gap, type, version).
            UnknownCampaign: no such campaign.
        """
        ...

    def campaigns(self) -> list[str]: ...

    def last_seq(self, campaign: str) -> int:
        """The campaign's last seq, 0 when it has none."""
        ...

    def acquire(self, campaign: str, holder: str, *, ttl_s: float) -> Lease:
        """Take the writer lease. Raises `LeaseHeld` naming the live holder."""
        ...

    def renew(self, lease: Lease, *, ttl_s: float) -> Lease: ...

    def release(self, lease: Lease) -> None: ...

    def close(self) -> None: ...


def canonical(data: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, no NaN tokens (they raise)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def record_hash(
    *,
    campaign: str,
    seq: int,
    type: str,
    version: int,
    at: float,
    actor: Actor,
    experiment_id: str | None,
    payload: Mapping[str, Any],
    prev_hash: str,
) -> str:
    body = [
        campaign,
        seq,
        type,
        version,
        at,
        str(actor.role),
        actor.id,
        experiment_id,
        payload,
        prev_hash,
    ]
    return hashlib.sha256(canonical(body).encode()).hexdigest()


def make_records(
    campaign: str,
    events: Sequence[Any],
    *,
    actor: Actor,
    at: float,
    last_seq: int,
    last_hash: str,
) -> list[Record]:
    """Build the chained records for `events` following record (`last_seq`, `last_hash`)."""
    records, prev = [], last_hash
    for offset, event in enumerate(events, start=1):
        payload = to_payload(event)
        fields = {
            "campaign": campaign,
            "seq": last_seq + offset,
            "type": event.type,
            "version": event.version,
            "at": float(at),
            "actor": actor,
            "experiment_id": getattr(event, "experiment_id", None),
            "payload": payload,
            "prev_hash": prev,
        }
        digest = record_hash(**fields)
        records.append(Record(**fields, hash=digest))
        prev = digest
    return records


def refusals(events: Sequence[Any], actor: Actor) -> list[AppendRefused]:
    """An `AppendRefused` for each event that `actor.role` may not write."""
    return [
        AppendRefused(
            role=str(actor.role),
            actor_id=actor.id,
            event_type=e.type,
            reason=f"role {actor.role!s} may not append {e.type}",
        )
        for e in events
        if not may_append(actor.role, e.type)
    ]


def permission_error(refused: Sequence[AppendRefused]) -> PermissionDenied:
    kinds = sorted({r.event_type for r in refused})
    return PermissionDenied(
        f"role {refused[0].role!r} may not append {kinds}; the refusal is recorded in the journal"
    )


SYSTEM = Actor(Role.SYSTEM, "journal")


def verify(
    records: Iterator[Record], *, where: str, after: int = 0, prev_hash: str | None = None
) -> Iterator[Record]:
    """Check links, hashes, gaps and event types as records stream past; yield them unchanged.

    `prev_hash` is the hash of record `after` when reading from the middle (None skips the first
    link check, which the caller then owns).
    """
    expected_seq, prev = after + 1, prev_hash
    for r in records:

        def fail(reason: str, r: Record = r) -> JournalCorrupt:
            return JournalCorrupt(f"{where}: campaign {r.campaign!r} seq {r.seq}: {reason}")

        if r.seq != expected_seq:
            raise fail(f"gap in the log: expected seq {expected_seq}")
        if prev is not None and r.prev_hash != prev:
            raise fail("broken hash chain: prev_hash does not match the previous record")
        fields = {
            k: getattr(r, k)
            for k in (
                "campaign",
                "seq",
                "type",
                "version",
                "at",
                "actor",
                "experiment_id",
                "payload",
                "prev_hash",
            )
        }
        if record_hash(**fields) != r.hash:
            raise fail("record hash does not match its contents (edited or torn record)")
        try:
            _decoded(r)
        except JournalCorrupt as err:
            raise fail(str(err)) from err
        expected_seq, prev = r.seq + 1, r.hash
        yield r
