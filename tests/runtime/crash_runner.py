"""Run or resume a campaign in this process, optionally killing it with SIGKILL at a named point.

Used by test_crash.py as a real subprocess. `--kill-after TYPE:K` wraps the SQLite journal so
the process sends itself SIGKILL right after the K-th durable append of a record of TYPE: the
record is on disk, nothing after it is.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from daedalus import Campaign, Job
from daedalus.journal.base import Record
from daedalus.journal.sqlite import SqliteJournal
from daedalus.runtime.files import CampaignSpec, build_machines

DRIFT_CONTROL = {
    "catalyst": "C4",
    "catalyst_loading_mol_pct": 1.0,
    "residence_time_s": 300.0,
    "temperature_c": 70.0,
}


class KillingJournal(SqliteJournal):
    """A real SQLite journal whose process dies after a chosen append. Test-only."""

    def __init__(self, path: str, kill_type: str, kill_count: int) -> None:
        super().__init__(path)
        self.kill_type, self.kill_count, self.seen = kill_type, kill_count, 0

    def append(self, campaign: str, events: Sequence[Any], **kwargs: Any) -> list[Record]:
        records = super().append(campaign, events, **kwargs)
        self.seen += sum(1 for r in records if r.type == self.kill_type)
        if self.seen >= self.kill_count:
            os.kill(os.getpid(), signal.SIGKILL)
        return records


class PoisonMachine:
    """Wraps a machine; starting experiment `poison` kills the whole process. Test-only."""

    def __init__(self, inner: Any, poison: str) -> None:
        self.inner, self.poison = inner, poison
        self.name, self.idempotent = inner.name, inner.idempotent

    async def start(self, job: Job) -> None:
        if job.experiment_id == self.poison:
            os.kill(os.getpid(), signal.SIGKILL)
        await self.inner.start(job)

    async def poll(self, job: Job, *, now: float) -> Any:
        return await self.inner.poll(job, now=now)

    async def stop(self, job: Job) -> None:
        await self.inner.stop(job)

    async def reconcile(self, job: Job, *, dispatched: bool, now: float) -> Any:
        return await self.inner.reconcile(job, dispatched=dispatched, now=now)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("journal")
    parser.add_argument("name")
    parser.add_argument("--create", action="store_true")
    parser.add_argument("--simulator", default="snar")
    parser.add_argument("--budget", type=int, default=12)
    parser.add_argument("--machines", type=int, default=3)
    parser.add_argument("--proposer", default="sobol")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--kill-after", default=None)
    parser.add_argument("--poison", default=None, help="experiment id whose start kills us")
    parser.add_argument("--drift", action="store_true", help="a deactivating catalyst, controls")
    args = parser.parse_args()
    if args.kill_after:
        kind, count = args.kill_after.split(":")
        journal: SqliteJournal = KillingJournal(args.journal, kind, int(count))
    else:
        journal = SqliteJournal(args.journal)
    if args.create:
        # Frequent analysis faults, so retries cross the crash points too.
        options: dict[str, Any] = {"fault_rate": 0.2} if args.simulator == "snar" else {}
        control = None
        if args.drift:  # deactivation from half an hour on, a control after every experiment
            options = {"deactivation_per_h": 0.5, "deactivation_onset_h": 0.5}
            control = {"design": DRIFT_CONTROL, "every": 1}
        spec = CampaignSpec(
            name=args.name, simulator=args.simulator, count=args.machines, sim_options=options
        )
        Campaign.create(
            args.name,
            spec.problem(),
            journal=journal,
            seed=args.seed,
            budget=args.budget,
            proposer=args.proposer,
            proposer_options={"n_init": 5} if args.proposer == "bayes" else None,
            machines=spec.machines_setting(),
            control=control,
        )
    campaign = Campaign.open(args.name, journal=journal)
    machines: list[Any] = build_machines(campaign.state.settings["machines"])
    if args.poison:
        machines = [PoisonMachine(m, args.poison) for m in machines]
    result = campaign.run(machines)
    json.dump({"stopped": result.stopped}, sys.stdout)
    journal.close()


if __name__ == "__main__":
    main()
