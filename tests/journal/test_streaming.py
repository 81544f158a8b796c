"""Reading a journal streams: memory stays flat in the log's length, and records are fetched
as the reader advances, not all before the first is yielded."""

from __future__ import annotations

import sqlite3
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from daedalus.errors import JournalCorrupt
from daedalus.events import Actor, CampaignCreated, NoteWritten, Role
from daedalus.journal.base import SYSTEM, Journal
from daedalus.journal.memory import MemoryJournal
from daedalus.journal.sqlite import SqliteJournal

ANALYST = Actor(Role.ANALYST, "analyst-1")
BATCH = 500


def _fill(journal: Journal, records: int) -> None:
    """Campaign 'c': a created event, then notes up to `records` records."""
    created = CampaignCreated(name="c", problem={"space": []}, settings={})
    journal.append("c", [created], actor=SYSTEM, expected_seq=0, at=1.0)
    seq = 1
    while seq < records:
        size = min(BATCH, records - seq)
        notes = [NoteWritten(text=f"note {seq + i} " + "x" * 200) for i in range(size)]
        journal.append("c", notes, actor=ANALYST, expected_seq=seq, at=2.0)
        seq += size


def _peak_while_reading(journal: Journal) -> tuple[int, int]:
    """(records read, peak bytes allocated while reading them all)."""
    tracemalloc.start()
    try:
        count = sum(1 for _ in journal.read("c"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return count, peak


Factory = Callable[[Path, str], Journal]
JOURNALS: dict[str, Factory] = {
    "memory": lambda tmp, name: MemoryJournal(),
    "sqlite": lambda tmp, name: SqliteJournal(tmp / f"{name}.db"),
}


@pytest.mark.parametrize("kind", sorted(JOURNALS))
def test_reading_ten_times_more_records_takes_no_more_memory(tmp_path: Path, kind: str) -> None:
    peaks = {}
    for records in (1_000, 10_000):
        journal = JOURNALS[kind](tmp_path, f"j{records}")
        try:
            _fill(journal, records)
            count, peaks[records] = _peak_while_reading(journal)
        finally:
            journal.close()
        assert count == records
    # A reader that held every record would need about ten times as much.
    assert peaks[10_000] < 1.5 * peaks[1_000], peaks


def test_sqlite_read_fetches_later_records_only_when_it_reaches_them(tmp_path: Path) -> None:
    """Damage written after the first record was yielded is still found: the damaged record was
    not yet in memory, as it would be had the read fetched everything up front."""
    path = tmp_path / "journal.db"
    with SqliteJournal(path) as journal:
        _fill(journal, 3_000)
        records = journal.read("c")
        assert next(records).seq == 1
        raw = sqlite3.connect(path, isolation_level=None)
        try:
            raw.execute(
                "UPDATE events SET payload = ? WHERE campaign = 'c' AND seq = 2900",
                ('{"text":"edited","experiment_id":null}',),
            )
        finally:
            raw.close()
        with pytest.raises(JournalCorrupt, match="seq 2900"):
            for _ in records:
                pass
