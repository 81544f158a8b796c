"""Journal speed: durable append throughput, and opening and replaying 10^5 and 10^6 events.

Part 1 appends to a fresh `SqliteJournal` (WAL, `synchronous=FULL`: each append is on disk when
it returns) and to a `MemoryJournal`, one event per append and `--batch` events per append (one
transaction), and prints events per second.

Part 2 builds, for each size in `--events`, one campaign of exactly that many events through
`SqliteJournal.append` (batched, so the file is the real format with a valid hash chain): a
realistic mix of designs, safety reviews, commands, observations, transient failures with
retries and model summaries, 100 experiments per round. Each measurement then runs in a fresh
subprocess, which reports its wall time and its peak RSS (`ru_maxrss`) against its RSS before the
work:

- open:   `SqliteJournal(path)` and `last_seq` (what a runtime does before anything else);
- scan:   raw SQLite cursor over the rows, no parsing (the floor for the steps below);
- read:   `journal.read(campaign)` to the end: parse, check every hash and link, type-check;
- replay: `state.replay(journal.read(campaign))`, the fold a resuming runtime does.

Reading streams a page of records at a time, so its peak memory is flat in the number of
events; replay's grows with the experiments the `State` holds. Usage:

    .venv/bin/python benchmarks/journal.py [--events 100000,1000000] [--dir DIR] [--appends 1000]
        [--markdown docs/benchmarks-journal.md]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from report import reported

from daedalus import events as ev
from daedalus.events import Actor, Role
from daedalus.journal.base import SYSTEM
from daedalus.journal.memory import MemoryJournal
from daedalus.journal.sqlite import SqliteJournal
from daedalus.sims.functions import Hartmann6
from daedalus.state import replay

CAMPAIGN = "bench"
ROUND = 100  # experiments per planner call
RETRY_EVERY = 20  # one experiment in 20 fails once (machine_fault) and is retried
TAIL_APPENDS = 200  # single appends timed at the end of each big journal
ACTORS = {
    role: Actor(role, f"{role}-1")
    for role in (Role.PLANNER, Role.SAFETY, Role.OPERATOR, Role.ANALYST)
}


def mib(kib: float) -> float:
    return kib / 1024.0


def rss_kib(field: str) -> int:
    """`VmRSS` (now) or `VmHWM` (peak) of this process in KiB, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def reset_peak() -> None:
    """Start the RSS high-water mark afresh (Linux >= 4.0), so imports do not count."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


# --- the event stream -------------------------------------------------------------------------


def created() -> ev.CampaignCreated:
    problem = Hartmann6(noise_sd=0.05).problem
    return ev.CampaignCreated(
        name=CAMPAIGN, problem=problem.to_dict(), settings={"budget": 10**7, "seed": 1}
    )


def rounds() -> Iterator[list[tuple[Role, Any]]]:
    """Endless rounds of `ROUND` experiments, as (role, event) in journal order."""
    decision = 0
    while True:
        ids = [f"e{decision:06d}-{i:03d}" for i in range(ROUND)]
        block: list[tuple[Role, Any]] = []
        for i, eid in enumerate(ids):
            params = {
                f"x{j}": ((decision * 7919 + i * 104729 + j * 31) % 10007) / 10007.0
                for j in range(1, 7)
            }
            block.append(
                (
                    Role.PLANNER,
                    ev.DesignProposed(
                        experiment_id=eid,
                        params=params,
                        proposer="bayes",
                        decision=decision,
                        seed=decision,
                        proposer_s=0.4,
                    ),
                )
            )
        for eid in ids:
            block.append(
                (Role.SAFETY, ev.ProposalReviewed(experiment_id=eid, verdict=ev.Verdict.ACCEPT))
            )
        for i, eid in enumerate(ids):
            attempt = 1
            if i % RETRY_EVERY == 0:
                block += attempt_events(eid, attempt)
                block.append(
                    (
                        Role.OPERATOR,
                        ev.ExperimentFailed(
                            experiment_id=eid,
                            cause=ev.Cause.MACHINE_FAULT,
                            reason="link dropped",
                            attempt=attempt,
                            retry=True,
                            duration_s=3.0,
                        ),
                    )
                )
                attempt += 1
            block += attempt_events(eid, attempt)
            block.append(
                (
                    Role.OPERATOR,
                    ev.ObservationRecorded(
                        experiment_id=eid,
                        values={"value": -1.0 - (i % 97) / 50.0},
                        duration_s=60.0,
                        attempt=attempt,
                    ),
                )
            )
        block.append(
            (
                Role.ANALYST,
                ev.ModelTrained(
                    n_observations=(decision + 1) * ROUND, summary={"lengthscale": [0.3] * 6}
                ),
            )
        )
        decision += 1
        yield block


def attempt_events(eid: str, attempt: int) -> list[tuple[Role, Any]]:
    return [
        (
            Role.OPERATOR,
            ev.CommandIntended(experiment_id=eid, machine="sim-1", attempt=attempt, seed=attempt),
        ),
        (
            Role.OPERATOR,
            ev.CommandDispatched(
                experiment_id=eid, machine="sim-1", attempt=attempt, started_at=float(attempt)
            ),
        ),
    ]


def build(path: Path, total: int) -> float:
    """Write one campaign of exactly `total` events; return the seconds it took."""
    started = time.perf_counter()
    with SqliteJournal(path) as journal:
        journal.append(CAMPAIGN, [created()], actor=SYSTEM, expected_seq=0, at=0.0)
        seq = 1
        for block in rounds():
            for role, batch in runs(block[: total - seq]):
                journal.append(CAMPAIGN, batch, actor=ACTORS[role], expected_seq=seq, at=seq)
                seq += len(batch)
            if seq >= total:
                break
    return time.perf_counter() - started


def runs(block: list[tuple[Role, Any]]) -> Iterator[tuple[Role, list[Any]]]:
    """Consecutive events of one role, each run one append (one transaction)."""
    role, batch = None, []
    for r, event in block:
        if r is not role and batch:
            yield role, batch  # type: ignore[misc]
            batch = []
        role = r
        batch.append(event)
    if batch:
        yield role, batch  # type: ignore[misc]


# --- part 1: append throughput ----------------------------------------------------------------


def throughput(journal: Any, appends: int, batch: int) -> float:
    """Events per second over `appends` appends of `batch` notes each, after a created event."""
    journal.append(CAMPAIGN, [created()], actor=SYSTEM, expected_seq=0, at=0.0)
    actor, seq = ACTORS[Role.ANALYST], 1
    notes = [ev.NoteWritten(text=f"note {i}", experiment_id=f"e{i:06d}") for i in range(batch)]
    started = time.perf_counter()
    for _ in range(appends):
        journal.append(CAMPAIGN, notes, actor=actor, expected_seq=seq, at=float(seq))
        seq += batch
    return appends * batch / (time.perf_counter() - started)


def fsync_ms(where: Path, count: int = 200) -> float:
    """Median milliseconds of one 4 KiB write + fsync in `where`: the disk's floor per append."""
    path, times = where / "fsync.probe", []
    with open(path, "wb") as f:
        for _ in range(count):
            started = time.perf_counter()
            f.write(b"x" * 4096)
            f.flush()
            os.fsync(f.fileno())
            times.append(time.perf_counter() - started)
    path.unlink()
    return 1000 * statistics.median(times)


def part1(where: Path, appends: int, batch: int) -> None:
    print(f"SQLite {sqlite3.sqlite_version}")
    print(f"disk: write + fsync of 4 KiB takes {fsync_ms(where):.3f} ms (median) in this directory")
    print("append throughput (SQLite: WAL + synchronous=FULL, each append durable on return)")
    print(f"{'journal':8} {'events/append':>13} {'appends':>8} {'events/s':>10}")
    for size, count in ((1, appends), (batch, max(1, appends // 10))):
        path = where / f"throughput-{size}.db"
        with SqliteJournal(path) as journal:
            rate = throughput(journal, count, size)
        print(f"{'sqlite':8} {size:>13} {count:>8} {rate:>10.0f}", flush=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    for size, count in ((1, appends * 10), (batch, appends)):
        with MemoryJournal() as memory:
            rate = throughput(memory, count, size)
        print(f"{'memory':8} {size:>13} {count:>8} {rate:>10.0f}", flush=True)


# --- part 2: open, read, replay in fresh processes --------------------------------------------


def child(mode: str, path: Path) -> None:
    """Run one measurement in this (fresh) process and print it as JSON."""
    reset_peak()
    before = rss_kib("VmRSS")
    started, cpu = time.perf_counter(), time.process_time()
    result: dict[str, Any] = {}
    if mode == "scan":
        db = sqlite3.connect(path)
        cursor = db.execute("SELECT * FROM events WHERE campaign = ? ORDER BY seq", (CAMPAIGN,))
        result["records"] = sum(1 for _ in cursor)
        db.close()
    else:
        with SqliteJournal(path) as journal:
            result["records"] = journal.last_seq(CAMPAIGN)
            if mode == "read":
                result["records"] = sum(1 for _ in journal.read(CAMPAIGN))
            elif mode == "replay":
                state = replay(journal.read(CAMPAIGN))
                result["experiments"] = len(state.experiments)
            elif mode == "append":  # single durable appends at the end of the big log
                seq, actor = result["records"], ACTORS[Role.ANALYST]
                started = time.perf_counter()
                for i in range(TAIL_APPENDS):
                    note = ev.NoteWritten(text=f"tail {i}")
                    journal.append(CAMPAIGN, [note], actor=actor, expected_seq=seq + i, at=0.0)
                result["rate"] = TAIL_APPENDS / (time.perf_counter() - started)
    result["seconds"] = time.perf_counter() - started
    result["cpu_seconds"] = time.process_time() - cpu
    result["rss_before_kib"] = before
    result["rss_peak_kib"] = rss_kib("VmHWM")
    print(json.dumps(result))


def measure(mode: str, path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(out.splitlines()[-1]))


def part2(where: Path, sizes: list[int]) -> None:
    print(
        "\nopen, read and replay, each in a fresh process: CPU s (wall s on this shared host); "
        "+MB = peak RSS during the step above the RSS before it"
    )
    print(
        f"{'events':>9} {'build s':>8} {'file MB':>8} {'open s':>7} {'scan s':>12} "
        f"{'read s':>14} {'replay s':>14} {'exps':>7} {'base MB':>8} {'read +MB':>8} "
        f"{'replay +MB':>10} {'append/s':>9}"
    )
    for total in sizes:
        path = where / f"journal-{total}.db"
        build_s = build(path, total)
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size_mb = path.stat().st_size / 2**20
        r = {mode: measure(mode, path) for mode in ("open", "scan", "read", "replay", "append")}
        if r["read"]["records"] != total:
            raise RuntimeError(f"read {r['read']['records']} records, wrote {total}")
        grow = {m: mib(x["rss_peak_kib"] - x["rss_before_kib"]) for m, x in r.items()}

        def both(mode: str, r: dict[str, dict[str, Any]] = r) -> str:
            return f"{r[mode]['cpu_seconds']:.2f} ({r[mode]['seconds']:.2f})"

        print(
            f"{total:>9} {build_s:>8.1f} {size_mb:>8.1f} {r['open']['seconds']:>7.3f} "
            f"{both('scan'):>12} {both('read'):>14} {both('replay'):>14} "
            f"{r['replay']['experiments']:>7} {mib(r['read']['rss_before_kib']):>8.1f} "
            f"{grow['read']:>8.1f} {grow['replay']:>10.1f} {r['append']['rate']:>9.0f}",
            flush=True,
        )
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="100000,1000000", help="comma-separated sizes")
    parser.add_argument("--dir", type=Path, default=None, help="where the temporary files go")
    parser.add_argument("--appends", type=int, default=1000, help="single-event appends timed")
    parser.add_argument("--batch", type=int, default=100, help="events per batched append")
    parser.add_argument(
        "--markdown",
        type=Path,
        default=None,
        help="also write what is printed to this markdown report (docs/benchmarks-journal.md)",
    )
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    sizes = [int(s) for s in args.events.split(",") if s]
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(dir=args.dir, prefix="daedalus-journal-bench-") as tmp,
        reported(
            args.markdown,
            title="Benchmarks: journal append throughput, open and replay",
            script="journal.py",
            doc=__doc__,
            libraries=("daedalus",),
            private=("--dir",),  # the scratch directory is this host's, not the report's
        ),
    ):
        part1(Path(tmp), args.appends, args.batch)
        part2(Path(tmp), sizes)


if __name__ == "__main__":
    main()
