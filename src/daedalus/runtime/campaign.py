"""`Campaign`: the Python API, used two ways.

With machines, `campaign.run(machines)` drives the closed loop. As an ask/tell loop, for people
who run experiments themselves, `campaign.ask(n)` returns designs to run and
`campaign.tell(experiment_id, values)` / `campaign.fail(experiment_id, cause)` record what
happened. Both paths go through the same planner, safety gate, analyst and journal.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from daedalus.agents import analyst, planner, safety
from daedalus.agents.roles import ANALYST, OPERATOR, PLANNER, SAFETY, SYSTEM
from daedalus.errors import (
    ConcurrencyConflict,
    InvalidCampaign,
    InvalidParams,
    UnknownCampaign,
)
from daedalus.events import (
    CampaignCreated,
    Cause,
    CommandDispatched,
    CommandIntended,
    ExperimentFailed,
    ObservationRecorded,
    ProposalReviewed,
    Verdict,
)
from daedalus.journal.base import Journal
from daedalus.journal.rules import holder_id
from daedalus.machines.base import Machine
from daedalus.problem import Problem
from daedalus.proposers import make_proposer
from daedalus.proposers.base import Proposer
from daedalus.runtime.clock import Clock, VirtualClock
from daedalus.runtime.loop import LEASE_TTL_S, RunResult, Runtime
from daedalus.runtime.writer import CampaignWriter
from daedalus.state import CampaignStatus, Experiment, State, Status, replay

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MANUAL = "manual"


def open_journal(journal: Journal | str | Path) -> tuple[Journal, bool]:
    """A journal object, and whether we opened it (and so must close it)."""
    if isinstance(journal, str | Path):
        from daedalus.journal.sqlite import SqliteJournal

        return SqliteJournal(Path(journal)), True
    return journal, False


# Campaign.create's defaults, for callers that validate settings before creating.
CREATE_DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "budget": 40,
    "batch": 1,
    "proposer": "bayes",
    "retries": 2,
    "safety": None,
}


def build_settings(problem: Problem, **options: Any) -> dict[str, Any]:
    """Validate campaign settings fully and return them as journaled in `CampaignCreated`."""
    for key in ("budget", "batch"):
        value = options[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidCampaign(f"{key} must be an integer >= 1, got {value!r}")
    for key in ("retries", "seed"):
        value = options[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidCampaign(f"{key} must be an integer >= 0, got {value!r}")
    timeout_s = options.get("timeout_s")
    if timeout_s is not None and not (isinstance(timeout_s, int | float) and timeout_s > 0):
        raise InvalidCampaign(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")
    target = options.get("target")
    if target is not None and not (isinstance(target, int | float) and math.isfinite(target)):
        raise InvalidCampaign(f"target must be a finite number, got {target!r}")
    envelope = options["safety"]
    if not isinstance(envelope, safety.Envelope):
        envelope = safety.Envelope.from_dict(envelope or {})
    envelope.check_space(problem.space)
    make_proposer(options["proposer"], **dict(options.get("proposer_options") or {}))
    ranges = {k: [v[0], v[1]] for k, v in dict(options.get("ranges") or {}).items()}
    control = options.get("control")
    if control is not None:
        control = planner.check_control(problem, control)
        blocked = safety.violations(envelope, problem.space, control["design"])
        if blocked:
            raise InvalidCampaign(
                f"control.design may not run: {'; '.join(blocked)}; pick a design inside the "
                "safety envelope"
            )
    outliers = analyst.check_outliers(options.get("outliers", True))
    settings = {
        **{k: options[k] for k in ("seed", "budget", "batch", "proposer", "retries")},
        "proposer_options": dict(options.get("proposer_options") or {}),
        "timeout_s": timeout_s,
        "target": target,
        "max_starts": int(options.get("max_starts", 3)),
        "safety": envelope.to_dict(),
        "ranges": ranges,
        "machines": dict(options.get("machines") or {}),
    }
    if control is not None:  # only when set: settings without controls are journaled as before
        settings["control"] = control
    if outliers is not None:  # off: journaled as settings were before the outlier test existed
        settings["outliers"] = outliers
    return settings


class Campaign:
    """One optimisation run: a problem, its settings and its journal.

    Create one with `Campaign.create(...)`, reopen it with `Campaign.open(name, journal=...)`.
    Use it as a context manager (or call `close()`) to release the journal and the lease.
    """

    def __init__(self, name: str, journal: Journal, *, owns_journal: bool = False) -> None:
        self.name = name
        self.journal = journal
        self._owns_journal = owns_journal
        self._writer: CampaignWriter | None = None
        self._proposer: Proposer | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        name: str,
        problem: Problem,
        *,
        journal: Journal | str | Path,
        seed: int = 0,
        budget: int = 40,
        batch: int = 1,
        proposer: str = "bayes",
        proposer_options: Mapping[str, Any] | None = None,
        safety: safety.Envelope | Mapping[str, Any] | None = None,
        retries: int = 2,
        timeout_s: float | None = None,
        target: float | None = None,
        ranges: Mapping[str, Sequence[float | None]] | None = None,
        machines: Mapping[str, Any] | None = None,
        control: Mapping[str, Any] | None = None,
        outliers: Mapping[str, Any] | bool = True,
    ) -> Campaign:
        """Start a new campaign in `journal` (a `Journal`, or a path to a SQLite file).

        `control` re-runs a fixed design to watch for drift: `{"design": {...}, "every": 5}`,
        plus optional `metric`, `threshold` and `strategy` (see `agents.planner.check_control`).
        Controls count against the budget.

        `outliers` tests each new reading for gross errors and re-measures a suspect once
        (repeats count against the budget): `True` (the default), `False`, or
        `{"remeasure": bool, "threshold": 4.0}` (see `agents.analyst.check_outliers`).

        Raises:
            InvalidCampaign: bad settings, or a campaign of that name already exists.
        """
        if not isinstance(name, str) or not NAME.match(name):
            raise InvalidCampaign(
                f"campaign name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        settings = build_settings(
            problem,
            seed=seed,
            budget=budget,
            batch=batch,
            proposer=proposer,
            proposer_options=proposer_options,
            safety=safety,
            retries=retries,
            timeout_s=timeout_s,
            target=target,
            ranges=ranges,
            machines=machines,
            control=control,
            outliers=outliers,
        )
        store, owns = open_journal(journal)
        created = CampaignCreated(name=name, problem=problem.to_dict(), settings=settings)
        try:
            store.append(name, [created], actor=SYSTEM, expected_seq=0, at=0.0)
        except ConcurrencyConflict as err:
            if owns:
                store.close()
            raise InvalidCampaign(
                f"campaign {name!r} already exists; continue it with `daedalus resume {name}` "
                "or Campaign.open, or pick another name"
            ) from err
        return cls(name, store, owns_journal=owns)

    @classmethod
    def open(cls, name: str, *, journal: Journal | str | Path) -> Campaign:
        """Reopen an existing campaign. Raises `UnknownCampaign` naming the known ones."""
        if isinstance(journal, str | Path) and not Path(journal).is_file():
            raise UnknownCampaign(f"no journal file at {journal}; pass --journal / journal=")
        store, owns = open_journal(journal)
        if store.last_seq(name) == 0:
            known = store.campaigns()
            if owns:
                store.close()
            raise UnknownCampaign(f"no campaign {name!r} in the journal; known: {known}")
        return cls(name, store, owns_journal=owns)

    def close(self) -> None:
        if self._writer is not None and self._writer.lease is not None:
            self.journal.release(self._writer.lease)
            self._writer = None
        if self._owns_journal:
            self.journal.close()

    def __enter__(self) -> Campaign:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------------

    @property
    def state(self) -> State:
        """The campaign as of now, folded from the journal."""
        return replay(self.journal.read(self.name))

    @property
    def problem(self) -> Problem:
        problem = self.state.problem
        assert problem is not None
        return problem

    def best(self) -> Experiment | None:
        return self.state.best()

    # -- closed loop ---------------------------------------------------------------------------

    def run(
        self,
        machines: Sequence[Machine],
        *,
        clock: Clock | None = None,
        pace: float | None = None,
        proposer: Proposer | None = None,
        on_change: Callable[[State], None] | None = None,
    ) -> RunResult:
        """Drive the campaign on `machines` until it completes or needs a person.

        `pace` runs the simulated clock at that many campaign seconds per real second.
        Raises `LeaseHeld` when another runtime is on this campaign.
        """
        self._release_lease()
        runtime = Runtime(
            self.journal,
            self.name,
            machines,
            clock=clock if clock is not None else VirtualClock(pace=pace),
            proposer=proposer,
            on_change=on_change,
        )
        return asyncio.run(runtime.run())

    # -- ask / tell ----------------------------------------------------------------------------

    def _live(self) -> CampaignWriter:
        if self._writer is None:
            lease = self.journal.acquire(self.name, holder_id(), ttl_s=LEASE_TTL_S)
            self._writer = CampaignWriter(self.journal, self.name, now=time.time, lease=lease)
        else:
            assert self._writer.lease is not None
            self._writer.lease = self.journal.renew(self._writer.lease, ttl_s=LEASE_TTL_S)
            self._writer.refresh()
        return self._writer

    def _release_lease(self) -> None:
        if self._writer is not None and self._writer.lease is not None:
            self.journal.release(self._writer.lease)
        self._writer = None

    def ask(self, n: int = 1) -> list[Experiment]:
        """Return up to `n` designs to run now, each approved by safety and journaled as
        dispatched to you. Fewer come back when the budget runs out or safety blocks."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidCampaign(f"ask(n): n must be an integer >= 1, got {n!r}")
        writer = self._live()
        status = writer.state.status
        if status is CampaignStatus.COMPLETED:
            return []
        if status is not CampaignStatus.ACTIVE:
            raise InvalidCampaign(f"campaign {self.name!r} is {status}; nothing can be asked")
        writer.emit(ANALYST, analyst.outliers(writer.state))  # told, then a crash
        for exp in writer.state.with_status(Status.PROPOSED):  # proposed, then a crash
            self._review(writer, exp.id, exp.params)
        out: list[str] = []
        for exp in writer.state.with_status(Status.ACCEPTED)[:n]:
            if self._dispatch_manual(writer, exp):
                out.append(exp.id)
        for _ in range(10):
            room = writer.state.budget - writer.state.spent
            if len(out) >= n or room <= 0:
                break
            proposals = planner.plan(writer.state, self._get_proposer(), n=min(n - len(out), room))
            writer.emit(PLANNER, proposals)
            for p in proposals:
                self._review(writer, p.experiment_id, p.params)
                exp = writer.state.experiments[p.experiment_id]
                if exp.status is Status.ACCEPTED and self._dispatch_manual(writer, exp):
                    out.append(exp.id)
        return [writer.state.experiments[eid] for eid in out]

    def _review(self, writer: CampaignWriter, experiment_id: str, params: Any) -> None:
        problem = writer.state.problem
        assert problem is not None
        envelope = safety.Envelope.from_dict(writer.state.settings.get("safety", {}))
        verdicts = safety.review_design(
            envelope, problem.space, experiment_id, params, now_unix=time.time()
        )
        writer.emit(SAFETY, verdicts)

    def _get_proposer(self) -> Proposer:
        if self._proposer is None:
            settings = self.state.settings
            self._proposer = make_proposer(
                str(settings.get("proposer", "bayes")), **dict(settings.get("proposer_options", {}))
            )
        return self._proposer

    def _dispatch_manual(self, writer: CampaignWriter, exp: Experiment) -> bool:
        state = writer.state
        assert state.problem is not None
        envelope = safety.Envelope.from_dict(state.settings.get("safety", {}))
        blocked = safety.admit(envelope, state.problem.space, exp)
        if blocked:
            writer.emit(
                SAFETY,
                [ProposalReviewed(experiment_id=exp.id, verdict=Verdict.BLOCK, reasons=blocked)],
            )
            return False
        attempt = exp.attempt + 1
        seed = planner.derive_seed(int(state.settings.get("seed", 0)), exp.id, attempt)
        writer.emit(
            OPERATOR,
            [
                CommandIntended(experiment_id=exp.id, machine=MANUAL, attempt=attempt, seed=seed),
                CommandDispatched(
                    experiment_id=exp.id, machine=MANUAL, attempt=attempt, started_at=time.time()
                ),
            ],
        )
        return True

    def _running(self, writer: CampaignWriter, experiment_id: str) -> Experiment:
        exp = writer.state.experiments.get(experiment_id)
        if exp is None:
            raise InvalidParams(
                f"no experiment {experiment_id!r} in campaign {self.name!r}; use an id from ask()"
            )
        if exp.status is not Status.DISPATCHED:
            raise InvalidParams(
                f"experiment {experiment_id!r} is {exp.status}; only experiments returned by "
                "ask() and not yet told or failed can take a result"
            )
        return exp

    def tell(self, experiment_id: str, values: Mapping[str, float]) -> Experiment:
        """Record what you measured. Invalid readings (NaN, missing metrics, out of range) are
        kept in the journal but rejected, with the reason, and never reach the model."""
        writer = self._live()
        exp = self._running(writer, experiment_id)
        if not isinstance(values, Mapping) or not all(
            isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool)
            for k, v in values.items()
        ):
            raise InvalidParams(f"values must map metric names to numbers, got {values!r}")
        duration = max(0.0, time.time() - (exp.started_at or time.time()))
        writer.emit(
            OPERATOR,
            [
                ObservationRecorded(
                    experiment_id=exp.id,
                    values={k: float(v) for k, v in values.items()},
                    duration_s=duration,
                    attempt=exp.attempt,
                )
            ],
        )
        writer.emit(ANALYST, analyst.validate(writer.state, exp.id))
        if exp.control:
            writer.emit(ANALYST, analyst.drift(writer.state))
        writer.emit(ANALYST, analyst.outliers(writer.state))
        self._maybe_complete(writer)
        return writer.state.experiments[exp.id]

    def fail(
        self, experiment_id: str, cause: Cause | str = Cause.INFEASIBLE, reason: str = ""
    ) -> Experiment:
        """Record that an experiment produced no valid outcome, and why."""
        try:
            cause = Cause(cause)
        except ValueError as err:
            raise InvalidParams(f"cause {cause!r} is not one of {[str(c) for c in Cause]}") from err
        writer = self._live()
        exp = self._running(writer, experiment_id)
        writer.emit(
            OPERATOR,
            [
                ExperimentFailed(
                    experiment_id=exp.id,
                    cause=cause,
                    reason=reason or str(cause),
                    attempt=exp.attempt,
                    retry=False,
                )
            ],
        )
        writer.emit(ANALYST, analyst.verdicts(writer.state))  # a repeat that failed
        self._maybe_complete(writer)
        return writer.state.experiments[exp.id]

    def _maybe_complete(self, writer: CampaignWriter) -> None:
        done = analyst.stop(writer.state)
        if done is not None:
            writer.emit(ANALYST, [done])
