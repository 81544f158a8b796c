"""MemoryJournal: the shared Journal contract, plus what only the in-memory store promises."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daedalus.errors import ConcurrencyConflict
from daedalus.events import Actor, NoteWritten, ObservationRecorded, Role
from daedalus.journal.base import GENESIS
from daedalus.journal.memory import MemoryJournal
from daedalus.testing.journal_contract import *  # noqa: F403


@pytest.fixture
def journal() -> Iterator[MemoryJournal]:
    j = MemoryJournal()
    yield j
    j.close()


def test_a_closed_journal_refuses_calls() -> None:
    j = MemoryJournal()
    j.close()
    with pytest.raises(ValueError, match="closed"):
        j.last_seq("c")


def test_threads_appending_with_retries_leave_a_gap_free_chain() -> None:
    j, n = MemoryJournal(), 200

    def write(name: str) -> None:
        actor, written = Actor(Role.ANALYST, name), 0
        while written < n:
            note = NoteWritten(text=f"{name} {written}")
            try:
                j.append("c", [note], actor=actor, expected_seq=j.last_seq("c"), at=1.0)
            except ConcurrencyConflict:
                continue
            written += 1

    threads = [threading.Thread(target=write, args=(name,)) for name in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = list(j.read("c"))
    assert [r.seq for r in records] == list(range(1, 2 * n + 1))
    for name in ("a", "b"):
        texts = [r.payload["text"] for r in records if r.actor.id == name]
        assert texts == [f"{name} {i}" for i in range(n)]


_values = st.dictionaries(st.text(min_size=1, max_size=8), st.floats(), max_size=4)


@settings(max_examples=60, deadline=None)
@given(batches=st.lists(st.lists(_values, min_size=1, max_size=3), min_size=1, max_size=5))
def test_what_is_appended_is_what_is_read(batches: list[list[dict[str, float]]]) -> None:
    with MemoryJournal() as j:
        appended, seq = [], 0
        for batch in batches:
            events = [
                ObservationRecorded(experiment_id=f"e{i}", values=v, duration_s=0.5)
                for i, v in enumerate(batch)
            ]
            appended += j.append("c", events, actor=Actor(Role.OPERATOR), expected_seq=seq, at=2.0)
            seq += len(batch)
        read = list(j.read("c"))
        assert read == appended
        assert read[0].prev_hash == GENESIS
        expected = [
            {k: repr(v) for k, v in values.items()} for batch in batches for values in batch
        ]
        got = [{k: repr(v) for k, v in r.event().values.items()} for r in read]
        assert got == expected  # repr: NaN, -0.0 and inf compare as written
