"""Promises 1-3: kill -9 at named points, resume, and compare with an uninterrupted run.

Each case runs a real campaign in a subprocess on a real SQLite file, kills it with SIGKILL
right after a chosen record is durable, resumes it in a fresh process, and checks that no
recorded observation was lost, no attempt was dispatched twice, and the final record equals an
uninterrupted run with the same seed.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from daedalus.journal.sqlite import SqliteJournal
from daedalus.state import replay

RUNNER = Path(__file__).with_name("crash_runner.py")


def runner(journal: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUNNER), str(journal), "c", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def final_record(journal: Path) -> list[tuple[Any, ...]]:
    store = SqliteJournal(journal)
    try:
        state = replay(store.read("c"))
    finally:
        store.close()
    return [
        (
            e.id,
            tuple(sorted(e.params.items())),
            str(e.status),
            None if e.values is None else tuple(sorted(e.values.items())),
            e.cause,
            e.attempt,
        )
        for e in sorted(state.experiments.values(), key=lambda e: e.id)
    ]


def records(journal: Path) -> list[Any]:
    store = SqliteJournal(journal)
    try:
        return list(store.read("c"))
    finally:
        store.close()


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Any, ...]]:
    path = tmp_path_factory.mktemp("baseline") / "j.db"
    done = runner(path, "--create")
    assert done.returncode == 0, done.stderr
    return final_record(path)


@pytest.mark.parametrize(
    "kills",
    [
        ["command.intended:4"],
        ["command.dispatched:5"],
        ["observation.recorded:3"],
        ["experiment.failed:1"],
        ["command.dispatched:7", "recovery.started:1"],  # killed again during recovery
    ],
)
def test_kill_and_resume_matches_uninterrupted(
    tmp_path: Path, baseline: list[tuple[Any, ...]], kills: list[str]
) -> None:
    path = tmp_path / "j.db"
    first = runner(path, "--create", "--kill-after", kills[0])
    assert first.returncode == -9, first.stderr
    seen_before = {
        r.experiment_id: r.payload["values"]
        for r in records(path)
        if r.type == "observation.recorded"
    }
    for kill in kills[1:]:
        again = runner(path, "--kill-after", kill)
        assert again.returncode == -9, again.stderr
    resumed = runner(path)
    assert resumed.returncode == 0, resumed.stderr
    final = records(path)
    after = {
        r.experiment_id: r.payload["values"] for r in final if r.type == "observation.recorded"
    }
    assert all(after[k] == v for k, v in seen_before.items()), (
        "an acknowledged observation was lost"
    )
    dispatched = Counter(
        (r.experiment_id, r.payload["attempt"]) for r in final if r.type == "command.dispatched"
    )
    assert max(dispatched.values()) == 1, f"dispatched twice: {dispatched.most_common(2)}"
    assert any(r.type == "recovery.started" for r in final)
    assert final_record(path) == baseline


def test_killed_during_bayes_proposals_resumes_exactly(tmp_path: Path) -> None:
    """The proposer's random state is journaled: a resumed BO campaign proposes the same."""
    base, crash = tmp_path / "a.db", tmp_path / "b.db"
    args = ("--proposer", "bayes", "--budget", "9", "--machines", "2")
    assert runner(base, "--create", *args).returncode == 0
    first = runner(crash, "--create", *args, "--kill-after", "observation.recorded:6")
    assert first.returncode == -9, first.stderr
    assert runner(crash).returncode == 0
    assert final_record(crash) == final_record(base)


def test_a_design_that_kills_the_runtime_is_quarantined(tmp_path: Path) -> None:
    """Promise 9: the runtime dies every time it starts e0004; after three starts that never
    reached the machine's acknowledgement, the design is set aside and the campaign goes on."""
    path = tmp_path / "j.db"
    args = ("--poison", "e0004", "--budget", "8", "--machines", "2")
    outcomes = [runner(path, "--create", *args).returncode]
    while outcomes[-1] != 0 and len(outcomes) < 6:
        outcomes.append(runner(path, *args).returncode)
    assert outcomes == [-9, -9, -9, 0]
    store = SqliteJournal(path)
    try:
        state = replay(store.read("c"))
    finally:
        store.close()
    poisoned = state.experiments["e0004"]
    assert str(poisoned.status) == "failed" and "quarantined" in poisoned.reason
    assert str(state.status) == "completed"
    assert sum(str(e.status) == "recorded" for e in state.experiments.values()) >= 6


def test_killed_around_a_drift_alarm_resumes_with_exactly_one_alarm(tmp_path: Path) -> None:
    """Killed right after the control reading that trips the change-point test (the alarm not
    yet written), or right after the alarm itself: recovery writes `drift.detected` exactly
    once, and the campaign ends as an uninterrupted one does."""
    args = ("--simulator", "catalyst", "--drift", "--machines", "1", "--budget", "20")
    base = tmp_path / "base.db"
    assert runner(base, "--create", *args).returncode == 0
    logged = records(base)
    alarms = [i for i, r in enumerate(logged) if r.type == "drift.detected"]
    assert len(alarms) == 1, "the baseline must raise one alarm for this test to mean anything"
    tripping = sum(1 for r in logged[: alarms[0]] if r.type == "observation.recorded")
    for kill in (f"observation.recorded:{tripping}", "drift.detected:1"):
        path = tmp_path / f"{kill.replace(':', '-')}.db"
        first = runner(path, "--create", *args, "--kill-after", kill)
        assert first.returncode == -9, first.stderr
        assert runner(path).returncode == 0
        final = records(path)
        (alarm,) = [r for r in final if r.type == "drift.detected"]
        assert alarm.payload == logged[alarms[0]].payload  # the same controls, the same evidence
        assert final_record(path) == final_record(base)
