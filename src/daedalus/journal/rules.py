"""The rules every `Journal` implementation enforces, and the flat row form records are stored in.

The memory and SQLite journals (and any third-party backend that wants to) call these functions
inside their own write transaction, so they refuse exactly the same appends with exactly the
same messages. The order of the checks on append is: arguments, `expected_seq`
(`check_expected_seq`), roles (`base.refusals`), then the lease (`check_append_lease`).

Lease holders are strings made by `holder_id()`: ``"hostname:pid:random"``. A lease whose holder
is a process on this host that no longer exists is dead even before it expires, so a runtime
killed with SIGKILL does not lock its campaign out until the TTL runs down. Holders in any
other form are treated as alive until their lease expires.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import socket
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from daedalus.errors import ConcurrencyConflict, JournalCorrupt, LeaseHeld, UnknownCampaign
from daedalus.events import EVENT_TYPES, Actor, Role
from daedalus.journal.base import Lease, Record, canonical

# --- append ------------------------------------------------------------------------------------


def check_append_args(
    campaign: str, events: Sequence[Any], *, actor: Actor, expected_seq: int, at: float
) -> None:
    """Validate an append's arguments before anything is read or written.

    Raises:
        ValueError: an empty campaign name, a negative `expected_seq`, a non-finite `at`.
        TypeError: an event that is not one of `events.EVENT_TYPES`, or a bad `actor`.
    """
    check_campaign(campaign)
    if not isinstance(actor, Actor) or not isinstance(actor.role, Role):
        raise TypeError(f"append: actor must be an events.Actor with a Role, got {actor!r}")
    if isinstance(expected_seq, bool) or not isinstance(expected_seq, int) or expected_seq < 0:
        raise ValueError(
            f"append: expected_seq must be an int >= 0 (0 for a new campaign), got {expected_seq!r}"
        )
    if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at):
        raise ValueError(f"append: at must be a finite unix time in seconds, got {at!r}")
    if isinstance(events, str | bytes) or not isinstance(events, Sequence):
        raise TypeError(f"append: events must be a sequence of events, got {type(events).__name__}")
    for event in events:
        cls = EVENT_TYPES.get(str(getattr(event, "type", "")))
        if cls is None or not isinstance(event, cls):
            raise TypeError(
                f"append: {event!r} is not a journal event; use one of the classes in "
                f"daedalus.events ({len(EVENT_TYPES)} types)"
            )


def check_campaign(campaign: str) -> None:
    """Raise `ValueError` unless `campaign` is a non-empty string."""
    if not isinstance(campaign, str) or not campaign:
        raise ValueError(f"campaign must be a non-empty string, got {campaign!r}")


def check_after(after: int) -> None:
    """Raise `ValueError` unless `after` is an int >= 0."""
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise ValueError(f"read: after must be an int >= 0 (0 reads from the start), got {after!r}")


def check_expected_seq(campaign: str, expected_seq: int, last_seq: int) -> None:
    """Raise `ConcurrencyConflict` unless the campaign's last seq is `expected_seq`."""
    if expected_seq != last_seq:
        raise ConcurrencyConflict(
            f"campaign {campaign!r}: append expected the last seq to be {expected_seq}, but it "
            f"is {last_seq}; another writer appended first. Nothing was written: read the "
            f"records after seq {min(expected_seq, last_seq)} and retry with "
            f"expected_seq={last_seq}"
        )


def unknown_campaign(campaign: str, known: Sequence[str], *, where: str) -> UnknownCampaign:
    """The error for reading `campaign` from `where`, which holds only the `known` ones."""
    shown = [*known[:20], "..."] if len(known) > 20 else list(known)
    return UnknownCampaign(
        f"{where}: no campaign {campaign!r}; known campaigns: {shown}. Check the name, or "
        f"create the campaign first"
    )


# --- lease -------------------------------------------------------------------------------------


def holder_id() -> str:
    """A lease holder name for this process: ``"hostname:pid:random"``.

    The random part tells two runtimes apart when a pid is reused; `holder_process` parses the
    host and pid back so a lease held by a dead process on this host can be taken at once.
    """
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def holder_process(holder: str) -> tuple[str, int] | None:
    """The (host, pid) in a `holder_id()` string, or None for a holder in any other form."""
    parts = holder.rsplit(":", 2)
    if len(parts) != 3 or not parts[0] or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1])


def holder_alive(holder: str) -> bool:
    """False only when `holder` is a process on this host that no longer exists.

    A holder on another host, or in a form `holder_process` cannot parse, counts as alive: only
    its lease's expiry can free the campaign then.
    """
    where = holder_process(holder)
    if where is None or where[0] != socket.gethostname():
        return True
    pid = where[1]
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, under another user
        return True
    return True


def lease_live(lease: Lease | None, now: float) -> bool:
    """Whether `lease` is still held: not released, not expired, and its holder not dead."""
    return lease is not None and lease.expires_at > now and holder_alive(lease.holder)


def describe_holder(lease: Lease, now: float) -> str:
    """``'h' (pid 12 on host 'box') until 2025-01-01T00:00:00+00:00 (in 30 s)``."""
    where = holder_process(lease.holder)
    process = f"pid {where[1]} on host {where[0]!r}" if where else "process unknown"
    left_s = lease.expires_at - now
    return f"{lease.holder!r} ({process}) until {_when(lease.expires_at)} (in {left_s:.0f} s)"


def check_lease_args(campaign: str, holder: str, ttl_s: float) -> None:
    """Raise `ValueError` for an empty campaign or holder, or a TTL that is not positive."""
    check_campaign(campaign)
    if not isinstance(holder, str) or not holder:
        raise ValueError(
            f"lease holder must be a non-empty string (see holder_id()), got {holder!r}"
        )
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, int | float) or not ttl_s > 0:
        raise ValueError(f"lease ttl_s must be a number of seconds > 0, got {ttl_s!r}")
    if not math.isfinite(ttl_s):
        raise ValueError(f"lease ttl_s must be finite, got {ttl_s!r}")


def check_grant(campaign: str, current: Lease | None, holder: str, now: float) -> None:
    """Raise `LeaseHeld` unless `holder` may take the lease now.

    It may when nobody holds it, when it expired, when `holder` already holds it, or when the
    holder is a process on this host that no longer exists.
    """
    if current is None or current.holder == holder or not lease_live(current, now):
        return
    raise LeaseHeld(
        f"campaign {campaign!r}: the writer lease is held by {describe_holder(current, now)}; "
        f"only one runtime may write a campaign at a time. Stop that runtime, or wait until "
        f"{_when(current.expires_at)} when its lease expires"
    )


def check_renew(current: Lease | None, lease: Lease, now: float) -> None:
    """Raise `LeaseHeld` ("lease lost") unless `lease` is still the campaign's current lease.

    A lease that expired but that nobody else took (same holder, same token) may be renewed:
    its token still fences out any older writer, and no newer one exists.
    """
    if current is not None and current.holder == lease.holder and current.token == lease.token:
        return
    if current is None:
        now_held = "nobody holds it now"
    else:
        now_held = f"it is now held by {describe_holder(current, now)} with token {current.token}"
    raise LeaseHeld(
        f"campaign {lease.campaign!r}: lease lost: {lease.holder!r} held it with token "
        f"{lease.token}, but {now_held}. Stop writing; re-read the journal and acquire the lease "
        f"again"
    )


def check_append_lease(
    campaign: str,
    *,
    actor: Actor,
    token: int | None,
    current: Lease | None,
    last_token: int,
    now: float,
) -> None:
    """Raise `LeaseHeld` unless this append may pass the writer lease.

    With a `token`, it must be the token of the live current lease. Without one, a person
    (`Role.HUMAN`) may always append, since people approve from another terminal while the
    runtime runs; any other role is refused while anyone holds a live lease.

    Args:
        current: the campaign's lease, None when released or never granted.
        last_token: the last token granted for the campaign (0 if none ever was).
    """
    if token is not None:
        if current is not None and token == current.token and lease_live(current, now):
            return
        if current is None:
            state = f"nobody holds the lease now (last token {last_token})"
        elif token == current.token:
            state = f"the lease expired at {_when(current.expires_at)} or its holder is gone"
        else:
            state = f"current is {current.token} held by {describe_holder(current, now)}"
        raise LeaseHeld(
            f"campaign {campaign!r}: stale fencing token {token}; {state}. This writer lost its "
            f"lease: stop it, or re-read the journal and acquire the lease again"
        )
    if actor.role is Role.HUMAN or current is None or not lease_live(current, now):
        return
    raise LeaseHeld(
        f"campaign {campaign!r}: role {actor.role!s} may not append without a fencing token while "
        f"the writer lease is held by {describe_holder(current, now)}. Pass the token of the "
        f"lease you hold, or stop that runtime, or wait until {_when(current.expires_at)}"
    )


def _when(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s, tz=UTC).isoformat(timespec="seconds")


# --- stored rows -------------------------------------------------------------------------------

Row = tuple[Any, ...]
"""A record flattened for storage, in `ROW_COLUMNS` order; the payload is canonical JSON text."""

ROW_COLUMNS = (
    "campaign",
    "seq",
    "type",
    "version",
    "at",
    "actor_role",
    "actor_id",
    "experiment_id",
    "payload",
    "prev_hash",
    "hash",
)


def to_row(record: Record) -> Row:
    """Flatten `record` for storage, its payload as `base.canonical` JSON text."""
    return (
        record.campaign,
        record.seq,
        record.type,
        record.version,
        record.at,
        str(record.actor.role),
        record.actor.id,
        record.experiment_id,
        canonical(record.payload),
        record.prev_hash,
        record.hash,
    )


def from_row(row: Row, *, where: str) -> Record:
    """Rebuild a record from its stored row, checking the types a hash check cannot.

    The hash itself is checked later by `base.verify`.

    Raises:
        JournalCorrupt: a payload that is not JSON text (a torn write, a pickle blob), or a
            field of the wrong type, naming `where`, the campaign and the seq.
    """
    campaign, seq, type_, version, at, role, actor_id, experiment_id, text, prev, digest = row

    def fail(reason: str) -> JournalCorrupt:
        return JournalCorrupt(f"{where}: campaign {campaign!r} seq {seq}: {reason}")

    payload = _parse_payload(text, fail)
    try:
        actor = Actor(Role(role), actor_id)
    except ValueError as err:
        raise fail(f"unknown actor role {role!r}") from err
    kinds = (
        (seq, int, "seq"),
        (type_, str, "type"),
        (version, int, "version"),
        (at, float, "at"),
        (actor_id, str, "actor id"),
        (prev, str, "prev_hash"),
        (digest, str, "hash"),
    )
    for value, kind, name in kinds:
        if not isinstance(value, kind) or isinstance(value, bool):
            raise fail(f"{name} is {value!r}, not a {kind.__name__}")
    if experiment_id is not None and not isinstance(experiment_id, str):
        raise fail(f"experiment_id is {experiment_id!r}, not a str")
    return Record(campaign, seq, type_, version, at, actor, experiment_id, payload, prev, digest)


def _parse_payload(text: object, fail: Callable[[str], JournalCorrupt]) -> dict[str, Any]:
    if isinstance(text, bytes):
        kind = "a pickle" if text[:1] == b"\x80" else "binary data"
        raise fail(
            f"payload is {kind} ({len(text)} bytes), not JSON text; daedalus never stores pickles"
        )
    if not isinstance(text, str):
        raise fail(f"payload is {type(text).__name__}, not JSON text")
    try:
        payload = json.loads(text, parse_constant=_reject_constant)
    except ValueError as err:
        raise fail(f"payload is not valid JSON (a torn or edited record): {err}") from err
    if not isinstance(payload, dict):
        raise fail(f"payload is a JSON {type(payload).__name__}, not an object")
    return payload


def _reject_constant(token: str) -> Any:
    raise ValueError(f"non-standard JSON token {token}")
