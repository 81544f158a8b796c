"""The contract every `Journal` implementation passes, shipped so third-party backends reuse it.

To run it against your backend, write a test module that defines a `journal` fixture yielding a
fresh, empty journal (and closing it afterwards), then star-imports this module; pytest collects
the imported `test_*` functions and runs each against your fixture::

    # tests/test_my_journal.py
    import pytest

    from daedalus.testing.journal_contract import *  # noqa: F403


    @pytest.fixture
    def journal(tmp_path):
        j = MyJournal(tmp_path / "journal")
        yield j
        j.close()

Nothing is subclassed. The suite needs only pytest, uses the wall clock for lease expiry (a few
sleeps of 0.1 s), and starts one short-lived Python subprocess to get the pid of a process that
no longer exists. `sample_event(type)` builds a minimal valid instance of any event type, for
your own tests too.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import socket
import subprocess
import sys
import time
import types
import typing
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

import pytest

from daedalus.errors import (
    ConcurrencyConflict,
    LeaseHeld,
    PermissionDenied,
    UnknownCampaign,
)
from daedalus.events import (
    EVENT_TYPES,
    PERMISSIONS,
    Actor,
    AppendRefused,
    CampaignCreated,
    CampaignPaused,
    CommandIntended,
    NoteWritten,
    ObservationRecorded,
    Role,
    from_payload,
    may_append,
    to_payload,
)
from daedalus.journal.base import GENESIS, SYSTEM, Journal, Record

__all__ = [
    "sample_event",
    "test_acquire_validates_its_arguments",
    "test_allowed_appends_succeed",
    "test_append_returns_records_linked_by_hash",
    "test_append_validates_its_arguments",
    "test_campaigns_are_independent",
    "test_campaigns_lists_only_campaigns_with_records",
    "test_close_twice_is_fine",
    "test_dead_holder_lease_is_taken_at_once",
    "test_empty_append_writes_nothing",
    "test_expected_seq_conflict_writes_nothing",
    "test_expired_lease_can_be_taken",
    "test_forbidden_append_is_refused_and_recorded",
    "test_forbidden_batch_writes_one_refusal_per_refused_event",
    "test_human_appends_without_token_while_leased",
    "test_implements_the_protocol",
    "test_last_seq",
    "test_lease_may_precede_the_campaign",
    "test_long_log_reads_back_whole",
    "test_non_finite_values_round_trip",
    "test_other_roles_need_the_token_while_leased",
    "test_read_after",
    "test_read_after_the_end_is_empty",
    "test_read_unknown_campaign_names_the_known_ones",
    "test_read_validates_after",
    "test_read_yields_the_records_present_at_the_call",
    "test_refusal_comes_before_the_lease_check",
    "test_release_of_a_stale_lease_keeps_the_current_one",
    "test_release_then_acquire",
    "test_renew_after_takeover_is_lease_lost",
    "test_renew_extends_the_lease",
    "test_returned_records_do_not_alias_the_log",
    "test_same_holder_may_acquire_again",
    "test_sample_events_round_trip",
    "test_second_holder_is_refused_with_the_holder_named",
    "test_seq_is_gap_free_from_one",
    "test_stale_token_is_refused",
    "test_token_without_lease_is_refused",
    "test_tokens_increase_with_every_grant",
]

AT = 1_700_000_000.0
TTL_S = 60.0
PLANNER = Actor(Role.PLANNER, "planner-1")
OPERATOR = Actor(Role.OPERATOR, "operator-1")
ANALYST = Actor(Role.ANALYST, "analyst-1")
HUMAN = Actor(Role.HUMAN, "ada")


# --- sample events -----------------------------------------------------------------------------


def sample_event(event_type: str) -> Any:
    """A minimal valid instance of `event_type`: every required field gets a plain value.

    Built from the dataclass's type hints, so a new event type is covered without editing this.

    Raises:
        KeyError: `event_type` is not in `events.EVENT_TYPES`.
        TypeError: a field's annotation has no sample value yet (extend `_sample_value`).
    """
    cls = EVENT_TYPES[event_type]
    hints = typing.get_type_hints(cls)
    required = (
        f
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    return cls(**{f.name: _sample_value(hints[f.name], f.name) for f in required})


def _sample_value(hint: Any, name: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return _sample_value(next(a for a in args if a is not type(None)), name)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return next(iter(hint))
    samples: dict[Any, Any] = {bool: True, int: 1, float: 1.0, str: f"{name}-1", Any: "x"}
    if hint in samples:
        return samples[hint]
    if origin in (Mapping, dict):
        return {"k": _sample_value(args[1], name)} if args else {}
    if origin in (Sequence, list, tuple):
        return [_sample_value(args[0], name)] if args else []
    raise TypeError(f"sample_event: no sample value for field {name!r} of type {hint!r}")


_FORBIDDEN = [(r, t) for r in Role for t in sorted(EVENT_TYPES) if not may_append(r, t)]
_ALLOWED = [(r, t) for r in Role for t in sorted(PERMISSIONS[r])]


def _ids(pair: tuple[Role, str]) -> str:
    return f"{pair[0]}-{pair[1]}"


def _create(journal: Journal, campaign: str = "c") -> list[Record]:
    created = CampaignCreated(name=campaign, problem={"space": []}, settings={})
    return journal.append(campaign, [created], actor=SYSTEM, expected_seq=0, at=AT)


def _notes(n: int, prefix: str = "note") -> list[NoteWritten]:
    return [NoteWritten(text=f"{prefix} {i}") for i in range(n)]


# --- the log -----------------------------------------------------------------------------------


def test_implements_the_protocol(journal: Journal) -> None:
    assert isinstance(journal, Journal)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_sample_events_round_trip(event_type: str) -> None:
    event = sample_event(event_type)
    rebuilt = from_payload(event.type, event.version, to_payload(event))
    assert type(rebuilt) is type(event) and to_payload(rebuilt) == to_payload(event)


def test_seq_is_gap_free_from_one(journal: Journal) -> None:
    _create(journal)
    seq = 1
    for size in (1, 3, 2):
        records = journal.append("c", _notes(size), actor=ANALYST, expected_seq=seq, at=AT)
        assert [r.seq for r in records] == list(range(seq + 1, seq + size + 1))
        seq += size
    assert [r.seq for r in journal.read("c")] == list(range(1, 8))
    assert journal.last_seq("c") == 7


def test_append_returns_records_linked_by_hash(journal: Journal) -> None:
    appended = _create(journal) + journal.append(
        "c", _notes(3), actor=ANALYST, expected_seq=1, at=AT + 1
    )
    assert appended[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(appended):
        assert after.prev_hash == before.hash
    assert len({r.hash for r in appended}) == 4
    assert all(len(r.hash) == 64 and int(r.hash, 16) >= 0 for r in appended)
    read = list(journal.read("c"))
    assert read == appended
    assert read[1].actor == ANALYST and read[1].at == AT + 1 and read[1].campaign == "c"
    assert [r.event() for r in read[1:]] == _notes(3)


@pytest.mark.parametrize("after", [0, 1, 2, 4, 5])
def test_read_after(journal: Journal, after: int) -> None:
    _create(journal)
    journal.append("c", _notes(4), actor=ANALYST, expected_seq=1, at=AT)
    every = list(journal.read("c"))
    assert list(journal.read("c", after=after)) == every[after:]


def test_read_after_the_end_is_empty(journal: Journal) -> None:
    _create(journal)
    assert list(journal.read("c", after=7)) == []


@pytest.mark.parametrize("after", [-1, 1.5, "1", True])
def test_read_validates_after(journal: Journal, after: Any) -> None:
    _create(journal)
    with pytest.raises(ValueError, match="after"):
        list(journal.read("c", after=after))


def test_read_unknown_campaign_names_the_known_ones(journal: Journal) -> None:
    _create(journal, "alpha")
    _create(journal, "beta")
    with pytest.raises(UnknownCampaign, match=r"'gamma'.*\['alpha', 'beta'\]"):
        list(journal.read("gamma"))


@pytest.mark.parametrize("expected_seq", [0, 1, 4])
def test_expected_seq_conflict_writes_nothing(journal: Journal, expected_seq: int) -> None:
    _create(journal)
    journal.append("c", _notes(1), actor=ANALYST, expected_seq=1, at=AT)
    before = list(journal.read("c"))
    with pytest.raises(ConcurrencyConflict, match=f"expected the last seq to be {expected_seq}"):
        journal.append("c", _notes(2), actor=ANALYST, expected_seq=expected_seq, at=AT)
    assert list(journal.read("c")) == before
    assert journal.last_seq("c") == 2


def test_empty_append_writes_nothing(journal: Journal) -> None:
    assert journal.append("c", [], actor=ANALYST, expected_seq=0, at=AT) == []
    assert journal.campaigns() == []


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"campaign": ""}, ValueError),
        ({"expected_seq": -1}, ValueError),
        ({"at": math.nan}, ValueError),
        ({"at": math.inf}, ValueError),
        ({"events": [{"type": "note.written", "text": "x"}]}, TypeError),
        ({"events": NoteWritten(text="x")}, TypeError),
        ({"actor": "analyst"}, TypeError),
    ],
)
def test_append_validates_its_arguments(
    journal: Journal, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    call: dict[str, Any] = {
        "campaign": "c",
        "events": _notes(1),
        "actor": ANALYST,
        "expected_seq": 0,
        "at": AT,
    } | kwargs
    with pytest.raises(error):
        journal.append(call.pop("campaign"), call.pop("events"), **call)
    assert journal.campaigns() == []


def test_returned_records_do_not_alias_the_log(journal: Journal) -> None:
    (record,) = _create(journal)
    if isinstance(record.payload, dict):
        record.payload["name"] = "tampered"
    (read,) = journal.read("c")
    assert read.payload["name"] == "c"
    if isinstance(read.payload, dict):
        read.payload["name"] = "tampered"
    assert next(iter(journal.read("c"))).payload["name"] == "c"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -0.0, 1e308, 5e-324])
def test_non_finite_values_round_trip(journal: Journal, value: float) -> None:
    _create(journal)
    observed = ObservationRecorded(experiment_id="e1", values={"y": value}, duration_s=1.5)
    journal.append("c", [observed], actor=OPERATOR, expected_seq=1, at=AT)
    (record,) = journal.read("c", after=1)
    event = record.event()
    assert isinstance(event, ObservationRecorded)
    assert record.experiment_id == "e1"
    got = event.values["y"]
    assert (math.isnan(got) and math.isnan(value)) or (
        got == value and math.copysign(1.0, got) == math.copysign(1.0, value)
    )


def test_long_log_reads_back_whole(journal: Journal) -> None:
    _create(journal)
    seq = 1
    for _ in range(13):
        journal.append("c", _notes(100), actor=ANALYST, expected_seq=seq, at=AT)
        seq += 100
    assert [r.seq for r in journal.read("c")] == list(range(1, seq + 1))
    assert [r.seq for r in journal.read("c", after=700)] == list(range(701, seq + 1))


def test_read_yields_the_records_present_at_the_call(journal: Journal) -> None:
    _create(journal)
    journal.append("c", _notes(1099), actor=ANALYST, expected_seq=1, at=AT)
    seen = []
    for record in journal.read("c"):
        seen.append(record.seq)
        if record.seq % 300 == 0:
            last = journal.last_seq("c")
            journal.append("c", _notes(50), actor=ANALYST, expected_seq=last, at=AT)
    assert seen == list(range(1, 1101))
    assert [r.seq for r in journal.read("c", after=1100)] == list(range(1101, 1251))


def test_campaigns_are_independent(journal: Journal) -> None:
    _create(journal, "a")
    _create(journal, "b")
    journal.append("a", _notes(3, "a"), actor=ANALYST, expected_seq=1, at=AT)
    journal.append("b", _notes(1, "b"), actor=ANALYST, expected_seq=1, at=AT)
    with pytest.raises(ConcurrencyConflict):
        journal.append("b", _notes(1), actor=ANALYST, expected_seq=4, at=AT)
    a, b = list(journal.read("a")), list(journal.read("b"))
    assert [r.seq for r in a] == [1, 2, 3, 4] and [r.seq for r in b] == [1, 2]
    assert {r.campaign for r in a} == {"a"} and {r.campaign for r in b} == {"b"}
    assert b[0].prev_hash == GENESIS and b[1].event() == NoteWritten(text="b 0")
    lease = journal.acquire("a", "runtime-a", ttl_s=TTL_S)
    journal.append("b", _notes(1), actor=ANALYST, expected_seq=2, at=AT)  # b is not leased
    assert journal.acquire("b", "runtime-b", ttl_s=TTL_S).token == 1
    assert lease.token == 1


def test_campaigns_lists_only_campaigns_with_records(journal: Journal) -> None:
    assert journal.campaigns() == []
    for name in ("zeta", "alpha", "mu"):
        _create(journal, name)
    journal.acquire("leased-only", "runtime-a", ttl_s=TTL_S)
    assert journal.campaigns() == ["alpha", "mu", "zeta"]


def test_last_seq(journal: Journal) -> None:
    assert journal.last_seq("c") == 0
    _create(journal)
    assert journal.last_seq("c") == 1
    journal.append("c", _notes(2), actor=ANALYST, expected_seq=1, at=AT)
    assert journal.last_seq("c") == 3
    assert journal.last_seq("other") == 0


def test_close_twice_is_fine(journal: Journal) -> None:
    journal.close()
    journal.close()


# --- roles -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "event_type"), _FORBIDDEN, ids=[_ids(p) for p in _FORBIDDEN])
def test_forbidden_append_is_refused_and_recorded(
    journal: Journal, role: Role, event_type: str
) -> None:
    _create(journal)
    with pytest.raises(PermissionDenied, match=f"{role}.*{event_type}"):
        journal.append(
            "c", [sample_event(event_type)], actor=Actor(role, "agent-7"), expected_seq=1, at=AT
        )
    (refusal,) = journal.read("c", after=1)
    assert refusal.seq == 2 and refusal.actor == SYSTEM and refusal.type == AppendRefused.type
    event = refusal.event()
    assert isinstance(event, AppendRefused)
    assert (event.role, event.actor_id, event.event_type) == (str(role), "agent-7", event_type)
    assert str(role) in event.reason and event_type in event.reason


@pytest.mark.parametrize(("role", "event_type"), _ALLOWED, ids=[_ids(p) for p in _ALLOWED])
def test_allowed_appends_succeed(journal: Journal, role: Role, event_type: str) -> None:
    _create(journal)
    event = sample_event(event_type)
    (record,) = journal.append("c", [event], actor=Actor(role, "agent-7"), expected_seq=1, at=AT)
    assert record.type == event_type and record.actor == Actor(role, "agent-7")
    assert list(journal.read("c", after=1)) == [record]
    assert to_payload(record.event()) == to_payload(event)  # tuples come back as lists


def test_forbidden_batch_writes_one_refusal_per_refused_event(journal: Journal) -> None:
    _create(journal)
    batch = [
        NoteWritten(text="allowed"),
        sample_event(CommandIntended.type),
        sample_event(CampaignPaused.type),
    ]
    with pytest.raises(PermissionDenied, match=r"command\.intended"):
        journal.append("c", batch, actor=PLANNER, expected_seq=1, at=AT)
    refused = [r.event() for r in journal.read("c", after=1)]
    assert [e.event_type for e in refused] == [CommandIntended.type, CampaignPaused.type]
    assert journal.last_seq("c") == 3


def test_refusal_comes_before_the_lease_check(journal: Journal) -> None:
    _create(journal)
    journal.acquire("c", "runtime-a", ttl_s=TTL_S)
    with pytest.raises(PermissionDenied):
        journal.append(
            "c", [sample_event(CommandIntended.type)], actor=PLANNER, expected_seq=1, at=AT
        )
    assert [r.type for r in journal.read("c")] == [CampaignCreated.type, AppendRefused.type]


# --- the writer lease --------------------------------------------------------------------------


def test_second_holder_is_refused_with_the_holder_named(journal: Journal) -> None:
    journal.acquire("c", "runtime-a", ttl_s=TTL_S)
    with pytest.raises(LeaseHeld, match=r"held by 'runtime-a'.*[Ss]top that runtime, or wait"):
        journal.acquire("c", "runtime-b", ttl_s=TTL_S)


def test_tokens_increase_with_every_grant(journal: Journal) -> None:
    first = journal.acquire("c", "runtime-a", ttl_s=TTL_S)
    journal.release(first)
    second = journal.acquire("c", "runtime-b", ttl_s=TTL_S)
    journal.release(second)
    third = journal.acquire("c", "runtime-a", ttl_s=TTL_S)
    assert [first.token, second.token, third.token] == [1, 2, 3]
    assert third.holder == "runtime-a" and third.campaign == "c"
    assert time.time() + TTL_S - 5 < third.expires_at <= time.time() + TTL_S


def test_same_holder_may_acquire_again(journal: Journal) -> None:
    first = journal.acquire("c", "runtime-a", ttl_s=TTL_S)
    again = journal.acquire("c", "runtime-a", ttl_s=TTL_S)
    assert again.token == first.token + 1


def test_stale_token_is_refused(journal: Journal) -> None:
    old = journal.acquire("c", "runtime-a", ttl_s=TTL_S)
    _create_with(journal, old.token)
    journal.release(old)
    new = journal.acquire("c", "runtime-b", ttl_s=TTL_S)
    with pytest.raises(LeaseHeld, match=r"stale fencing token 1; current is 2 held by 'runtime-b'"):
        journal.append("c", _notes(1), actor=ANALYST, expected_seq=1, at=AT, token=old.token)
    assert journal.last_seq("c") == 1
    journal.append("c", _notes(1), actor=ANALYST, expected_seq=1, at=AT, token=new.token)
    assert journal.last_seq("c") == 2


def test_token_without_lease_is_refused(journal: Journal) -> None:
    lease = journal.acquire("c", "runtime-a", ttl_s=TTL_S)
    journal.release(lease)
    with pytest.raises(LeaseHeld, match="stale fencing token 1"):
        _create_with(journal, lease.token)
    assert journal.campaigns() == []


def _create_with(journal: Journal, token: int) -> list[Record]:
    created = CampaignCreated(name="c", problem={}, settings={})
    return journal.append("c", [created], actor=SYSTEM, expected_seq=0, at=AT, token=token)


def test_release_then_acquire(journal: Journal) -> None:
    lease = journal.acquire("c", "runtime-a", ttl_s=TTL_S)
    journal.release(lease)
    assert journal.acquire("c", "runtime-b", ttl_s=TTL_S).holder == "runtime-b"


def test_release_of_a_stale_lease_keeps_the_current_one(journal: Journal) -> None:
    old = journal.acquire("c", "runtime-a", ttl_s=TTL_S)
    journal.release(old)
    journal.acquire("c", "runtime-b", ttl_s=TTL_S)
    journal.release(old)
    with pytest.raises(LeaseHeld, match="runtime-b"):
        journal.acquire("c", "runtime-c", ttl_s=TTL_S)


def test_expired_lease_can_be_taken(journal: Journal) -> None:
    _create(journal)
    old = journal.acquire("c", "runtime-a", ttl_s=0.05)
    time.sleep(0.1)
    journal.append("c", _notes(1), actor=ANALYST, expected_seq=1, at=AT)  # nobody holds it now
    with pytest.raises(LeaseHeld, match="stale fencing token 1"):
        journal.append("c", _notes(1), actor=ANALYST, expected_seq=2, at=AT, token=old.token)
    new = journal.acquire("c", "runtime-b", ttl_s=TTL_S)
    assert new.token == 2


def test_renew_extends_the_lease(journal: Journal) -> None:
    lease = journal.acquire("c", "runtime-a", ttl_s=0.05)
    renewed = journal.renew(lease, ttl_s=TTL_S)
    assert (renewed.holder, renewed.token) == (lease.holder, lease.token)
    assert renewed.expires_at > lease.expires_at
    time.sleep(0.1)
    with pytest.raises(LeaseHeld, match="runtime-a"):
        journal.acquire("c", "runtime-b", ttl_s=TTL_S)
    _create_with(journal, renewed.token)


def test_renew_after_takeover_is_lease_lost(journal: Journal) -> None:
    lease = journal.acquire("c", "runtime-a", ttl_s=0.05)
    time.sleep(0.1)
    journal.acquire("c", "runtime-b", ttl_s=TTL_S)
    with pytest.raises(LeaseHeld, match=r"lease lost.*runtime-b"):
        journal.renew(lease, ttl_s=TTL_S)


def test_human_appends_without_token_while_leased(journal: Journal) -> None:
    lease = journal.acquire("c", "runtime-a", ttl_s=TTL_S)
    _create_with(journal, lease.token)
    pause = CampaignPaused(reason="lunch")
    (paused,) = journal.append("c", [pause], actor=HUMAN, expected_seq=1, at=AT)
    assert paused.actor == HUMAN and paused.seq == 2


def test_other_roles_need_the_token_while_leased(journal: Journal) -> None:
    lease = journal.acquire("c", "runtime-a", ttl_s=TTL_S)
    _create_with(journal, lease.token)
    with pytest.raises(LeaseHeld, match=r"role operator .*without a fencing token.*'runtime-a'"):
        journal.append(
            "c", [sample_event(CommandIntended.type)], actor=OPERATOR, expected_seq=1, at=AT
        )
    assert journal.last_seq("c") == 1
    journal.append(
        "c",
        [sample_event(CommandIntended.type)],
        actor=OPERATOR,
        expected_seq=1,
        at=AT,
        token=lease.token,
    )
    assert journal.last_seq("c") == 2


def test_lease_may_precede_the_campaign(journal: Journal) -> None:
    lease = journal.acquire("new", "runtime-a", ttl_s=TTL_S)
    assert journal.last_seq("new") == 0 and journal.campaigns() == []
    with pytest.raises(UnknownCampaign):
        list(journal.read("new"))
    created = CampaignCreated(name="new", problem={}, settings={})
    journal.append("new", [created], actor=SYSTEM, expected_seq=0, at=AT, token=lease.token)
    assert journal.campaigns() == ["new"]


def test_dead_holder_lease_is_taken_at_once(journal: Journal) -> None:
    dead = f"{socket.gethostname()}:{_exited_pid()}:0badc0de"
    journal.acquire("c", dead, ttl_s=3600)
    taken = journal.acquire("c", "runtime-b", ttl_s=TTL_S)
    assert taken.token == 2


def _exited_pid() -> int:
    """The pid of a child that has exited and been reaped, so no process has it."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize(
    ("campaign", "holder", "ttl_s"),
    [
        ("", "h", 1.0),
        ("c", "", 1.0),
        ("c", "h", 0.0),
        ("c", "h", -1.0),
        ("c", "h", math.nan),
        ("c", "h", math.inf),
    ],
)
def test_acquire_validates_its_arguments(
    journal: Journal, campaign: str, holder: str, ttl_s: float
) -> None:
    with pytest.raises(ValueError):
        journal.acquire(campaign, holder, ttl_s=ttl_s)
