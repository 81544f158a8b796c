"""The runtime: the only place that owns clocks, loops, leases, retries and machine I/O.

One asyncio loop per campaign drives every machine at once. Each turn it folds in what people
appended, lets the analyst stop the campaign, fills free machines (retries first, then new
proposals through the planner and safety), and then waits for the next thing to happen: the
earliest expected finish on a virtual clock, or the poll interval on a real one. Machine calls of
one turn run concurrently; their answers are journaled in experiment-id order, so a simulated
campaign is deterministic and a resumed one continues exactly as an uninterrupted one would.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from daedalus.agents import analyst, operator, planner, safety
from daedalus.agents.roles import ANALYST, OPERATOR, PLANNER, SAFETY, SYSTEM
from daedalus.errors import InvalidCampaign, InvalidTransition, LeaseHeld, MachineError
from daedalus.events import (
    CampaignCompleted,
    Cause,
    CommandDispatched,
    CommandIntended,
    MachinePaused,
    ProposalReviewed,
    Reconciled,
    RecoveryCompleted,
    RecoveryStarted,
    RuntimeStarted,
    Verdict,
)
from daedalus.journal.base import Journal
from daedalus.journal.rules import holder_id
from daedalus.machines.base import (
    Failure,
    Finding,
    Job,
    Machine,
    NotStarted,
    Outcome,
    Running,
    Unknown,
)
from daedalus.machines.base import (
    Status as MachineStatus,
)
from daedalus.proposers import make_proposer
from daedalus.proposers.base import Proposer
from daedalus.runtime.clock import Clock, VirtualClock
from daedalus.runtime.writer import CampaignWriter
from daedalus.state import CampaignStatus, Experiment, State, Status

LEASE_TTL_S = 30.0
POLL_ERRORS_LIMIT = 5
BLOCKED_STREAK_LIMIT = 20


@dataclass(frozen=True, slots=True)
class RunResult:
    """How a run ended: `completed`, or why it stopped early (a person is needed)."""

    state: State
    stopped: str

    @property
    def completed(self) -> bool:
        return self.state.status is CampaignStatus.COMPLETED


class Runtime:
    """Runs one campaign on `machines` until it completes or needs a person.

    Args:
        journal: the campaign's journal.
        campaign: the campaign's name.
        machines: the machines to run on; names must be distinct.
        clock: campaign time; a `VirtualClock` by default.
        proposer: overrides the proposer named in the campaign settings.
        on_change: called with the live state after every change (progress bars).
        poll_interval_s: how often real machines are polled, in campaign seconds.
    """

    def __init__(
        self,
        journal: Journal,
        campaign: str,
        machines: Sequence[Machine],
        *,
        clock: Clock | None = None,
        proposer: Proposer | None = None,
        on_change: Callable[[State], None] | None = None,
        poll_interval_s: float = 5.0,
    ) -> None:
        names = [m.name for m in machines]
        if not machines or len(set(names)) != len(names):
            raise InvalidCampaign(f"need at least one machine, with distinct names; got {names}")
        self.journal = journal
        self.campaign = campaign
        self.machines: dict[str, Machine] = {m.name: m for m in machines}
        self.clock: Clock = clock if clock is not None else VirtualClock()
        self._proposer = proposer
        self._on_change = on_change
        self.poll_interval_s = poll_interval_s
        self._writer: CampaignWriter | None = None
        self._renewed_at = 0.0
        self._poll_errors: dict[tuple[str, int], int] = {}

    # -- plumbing ------------------------------------------------------------------------------

    @property
    def state(self) -> State:
        assert self._writer is not None
        return self._writer.state

    def _emit(self, actor: Any, events: Sequence[Any]) -> State:
        assert self._writer is not None
        self._renew_lease()
        return self._writer.emit(actor, events)

    def _renew_lease(self, *, force: bool = False) -> None:
        """Extend the lease every third of its life; `force` also proves it is still ours
        before a machine is touched. Raises `LeaseHeld` when it was lost."""
        writer = self._writer
        if writer is None or writer.lease is None:
            return
        if force or time.time() - self._renewed_at > LEASE_TTL_S / 3:
            writer.lease = self.journal.renew(writer.lease, ttl_s=LEASE_TTL_S)
            self._renewed_at = time.time()

    def _settings(self, key: str, default: Any) -> Any:
        return self.state.settings.get(key, default)

    def _job(self, exp: Experiment) -> Job:
        return Job(exp.id, exp.params, exp.attempt, exp.seed, exp.started_at or 0.0)

    # -- entry point ---------------------------------------------------------------------------

    async def run(self) -> RunResult:
        """Take the lease, recover, and drive the campaign. Raises `LeaseHeld` if taken."""
        lease = self.journal.acquire(self.campaign, holder_id(), ttl_s=LEASE_TTL_S)
        self._renewed_at = time.time()
        try:
            self._writer = CampaignWriter(
                self.journal,
                self.campaign,
                now=self.clock.now,
                lease=lease,
                on_change=self._on_change,
            )
            if self._proposer is None:
                self._proposer = make_proposer(
                    str(self._settings("proposer", "bayes")),
                    **dict(self._settings("proposer_options", {})),
                )
            if self.state.status is not CampaignStatus.ACTIVE:
                return RunResult(self.state, str(self.state.status))
            self.clock.resume_at(self.state.clock)
            self._emit(SYSTEM, [RuntimeStarted(runtime_id=lease.holder, token=lease.token)])
            await self._recover()
            try:
                return RunResult(self.state, await self._drive())
            except InvalidTransition:
                assert self._writer is not None
                self._writer.refresh()
                if self.state.status is CampaignStatus.ACTIVE:
                    raise
                return RunResult(self.state, str(self.state.status))  # a person stopped it
        finally:
            writer = self._writer
            with contextlib.suppress(LeaseHeld):  # lost it already: nothing of ours to release
                self.journal.release(writer.lease if writer and writer.lease else lease)

    # -- recovery ------------------------------------------------------------------------------

    async def _recover(self) -> None:
        for eid in [e.id for e in self.state.with_status(Status.RECORDED)]:
            self._emit(ANALYST, analyst.validate(self.state, eid))
        self._emit(ANALYST, analyst.drift(self.state))  # a control recorded, then the crash
        self._emit(ANALYST, analyst.outliers(self.state))  # a reading recorded, then the crash
        for exp in self.state.with_status(Status.PROPOSED):  # proposed, then the crash
            self._review(exp.id, exp.params)
        in_flight = list(self.state.with_status(Status.INTENDED, Status.DISPATCHED))
        if not in_flight:
            return
        self._emit(SYSTEM, [RecoveryStarted(in_flight=[e.id for e in in_flight])])
        findings: dict[str, str] = {}
        for exp in in_flight:
            findings[exp.id] = await self._reconcile(exp)
        self._emit(SYSTEM, [RecoveryCompleted(findings=findings)])

    async def _reconcile(self, exp: Experiment) -> str:
        machine = self.machines.get(exp.machine or "")
        dispatched = exp.status is Status.DISPATCHED
        if not dispatched:
            pill = operator.quarantined(exp, max_intents=int(self._settings("max_starts", 3)))
            if pill is not None:
                self._emit(OPERATOR, [pill])
                return "quarantined"
        finding: Finding
        if machine is None:
            finding = Unknown(f"machine {exp.machine!r} is not attached to this runtime")
        else:
            try:
                finding = await machine.reconcile(
                    self._job(exp), dispatched=dispatched, now=self.clock.now()
                )
            except Exception as err:  # a machine that cannot answer must not stop recovery
                finding = Unknown(f"reconcile raised {type(err).__name__}: {err}")
        label = type(finding).__name__.lower()
        self._emit(
            OPERATOR, [Reconciled(experiment_id=exp.id, machine=exp.machine or "", finding=label)]
        )
        if isinstance(finding, NotStarted) and machine is not None:
            exp = self.state.experiments[exp.id]
            if machine.name in self.state.paused_machines:
                withdrawn = Failure(Cause.MACHINE_FAULT, f"not started: {machine.name} is paused")
                self._emit(OPERATOR, [operator.on_failure(exp, withdrawn, retries=exp.attempt)])
            else:
                await self._dispatch(exp, machine, attempt=exp.attempt)
        elif isinstance(finding, Outcome | Failure):
            self._finish(self.state.experiments[exp.id], finding)
        elif isinstance(finding, Unknown):
            self._unknown(self.state.experiments[exp.id], finding.reason)
        return label

    # -- the loop ------------------------------------------------------------------------------

    async def _drive(self) -> str:
        while True:
            assert self._writer is not None
            self._writer.refresh()
            state = self.state
            if state.status is not CampaignStatus.ACTIVE:
                return str(state.status)
            self._expire_approvals()
            self._emit(ANALYST, analyst.verdicts(self.state))  # repeats that failed or were blocked
            done = analyst.stop(self.state)
            if done is not None:
                self._emit(ANALYST, [done])
                return "completed"
            await self._fill()
            if self.state.status is not CampaignStatus.ACTIVE:
                return str(self.state.status)
            in_flight = list(self.state.with_status(Status.INTENDED, Status.DISPATCHED))
            if not in_flight:
                if analyst.stop(self.state) is not None:
                    continue
                return self._idle_reason()
            await self._poll(in_flight)

    def _idle_reason(self) -> str:
        state = self.state
        if state.with_status(Status.AWAITING_APPROVAL):
            return "waiting for approval"
        if state.with_status(Status.UNKNOWN):
            return "outcome unknown: a person must decide"
        if state.with_status(Status.ACCEPTED) and state.paused_machines:
            return f"machines paused: {sorted(state.paused_machines)}"
        return "nothing left to run"

    def _free_slots(self) -> list[str]:
        cap = int(self._settings("safety", {}).get("max_concurrent", 1))
        busy: dict[str, int] = {}
        for exp in self.state.with_status(Status.INTENDED, Status.DISPATCHED):
            busy[exp.machine or ""] = busy.get(exp.machine or "", 0) + 1
        slots = []
        for name in sorted(self.machines):
            if name not in self.state.paused_machines:
                slots.extend([name] * max(0, cap - busy.get(name, 0)))
        return slots

    async def _fill(self) -> None:
        """Start ready experiments (retries, approvals) on free slots, then plan new ones.
        Bounded: every failed start spends a retry, every proposal spends budget or counts
        toward the blocked-proposal limit."""
        while self.state.status is CampaignStatus.ACTIVE:
            free = self._free_slots()
            ready = self.state.with_status(Status.ACCEPTED)
            if ready and free:
                for exp, name in zip(ready, free, strict=False):
                    await self._dispatch(exp, self.machines[name], attempt=exp.attempt + 1)
                continue
            room = self.state.budget - self.state.spent
            if not free or room <= 0:
                return
            n = min(len(free), int(self._settings("batch", 1)), room)
            if not self._propose(n):
                return

    def _propose(self, n: int) -> bool:
        """Plan `n` designs and have safety review them; False when nothing more can run."""
        assert self._proposer is not None and self.state.problem is not None
        started, cpu_started = time.perf_counter(), time.process_time()
        proposals = planner.plan(self.state, self._proposer, n=n)
        spent_s = time.perf_counter() - started
        cpu_s = time.process_time() - cpu_started
        if not proposals:
            return False
        proposals = [
            dataclasses.replace(p, proposer_s=spent_s, proposer_cpu_s=cpu_s) for p in proposals
        ]
        self._emit(PLANNER, proposals)
        for p in proposals:
            self._review(p.experiment_id, p.params)
        streak = self._blocked_streak()
        if streak >= BLOCKED_STREAK_LIMIT:
            reason = (
                f"safety blocked {streak} proposals in a row; "
                "widen the envelope or change the proposer"
            )
            self._emit(ANALYST, [CampaignCompleted(reason=reason)])
            return False
        return True

    def _review(self, experiment_id: str, params: Mapping[str, Any]) -> None:
        assert self.state.problem is not None
        envelope = safety.Envelope.from_dict(self._settings("safety", {}))
        verdicts = safety.review_design(
            envelope, self.state.problem.space, experiment_id, params, now_unix=time.time()
        )
        self._emit(SAFETY, verdicts)

    def _blocked_streak(self) -> int:
        """Blocked proposals since the last one safety let through, from the journal alone,
        so a resumed campaign stops where an uninterrupted one would."""
        streak = 0
        for exp in reversed(list(self.state.experiments.values())):
            if exp.status is not Status.BLOCKED:
                break
            streak += 1
        return streak

    def _expire_approvals(self) -> None:
        now = time.time()
        for exp in list(self.state.with_status(Status.AWAITING_APPROVAL)):
            if exp.approval_expires_at is not None and now > exp.approval_expires_at:
                self._emit(
                    SAFETY,
                    [
                        ProposalReviewed(
                            experiment_id=exp.id,
                            verdict=Verdict.BLOCK,
                            reasons=["the approval request expired"],
                        )
                    ],
                )

    # -- machine I/O ---------------------------------------------------------------------------

    async def _dispatch(self, exp: Experiment, machine: Machine, *, attempt: int) -> None:
        """Journal the intent, start the job, journal the acknowledgement. Safety is asked
        again first: nothing outside the envelope reaches a machine."""
        assert self.state.problem is not None
        envelope = safety.Envelope.from_dict(self._settings("safety", {}))
        blocked = safety.admit(envelope, self.state.problem.space, exp)
        if blocked:
            self._emit(
                SAFETY,
                [ProposalReviewed(experiment_id=exp.id, verdict=Verdict.BLOCK, reasons=blocked)],
            )
            return
        if self.state.status is not CampaignStatus.ACTIVE:
            return
        seed = planner.derive_seed(int(self._settings("seed", 0)), exp.id, attempt)
        self._emit(
            OPERATOR,
            [
                CommandIntended(
                    experiment_id=exp.id, machine=machine.name, attempt=attempt, seed=seed
                )
            ],
        )
        exp = self.state.experiments[exp.id]
        job = Job(exp.id, exp.params, attempt, seed, self.clock.now())
        try:
            await machine.start(job)
        except MachineError as err:  # the machine says it is away: nothing started
            self._finish(exp, Failure(Cause.MACHINE_FAULT, f"start failed: {err}"))
            return
        except Exception as err:  # it may have started: re-run only what is idempotent
            reason = f"start raised {type(err).__name__}: {err}"
            if machine.idempotent:
                self._finish(exp, Failure(Cause.MACHINE_FAULT, reason))
            else:
                self._unknown(exp, f"{reason}; it may have started")
            return
        self._emit(
            OPERATOR,
            [
                CommandDispatched(
                    experiment_id=exp.id,
                    machine=machine.name,
                    attempt=attempt,
                    started_at=job.started_at,
                )
            ],
        )

    async def _poll(self, in_flight: list[Experiment]) -> None:
        """Wait for the next answer, then journal every answer of this turn in id order."""
        timeout_s = self._settings("timeout_s", None)
        while True:
            now = self.clock.now()
            answers = await asyncio.gather(
                *(self._ask(exp, now) for exp in in_flight), return_exceptions=False
            )
            finished = [
                (e, a)
                for e, a in zip(in_flight, answers, strict=True)
                if not isinstance(a, Running)
            ]
            self._renew_lease(force=bool(finished))  # never act on a lease already lost
            timed_out = [
                e
                for e, a in zip(in_flight, answers, strict=True)
                if isinstance(a, Running)
                and timeout_s is not None
                and e.started_at is not None
                and now - e.started_at >= float(timeout_s)
            ]
            for exp, answer in finished:
                if isinstance(answer, Unknown):
                    self._unknown(self.state.experiments[exp.id], answer.reason)
                else:
                    self._finish(self.state.experiments[exp.id], answer)
            for exp in timed_out:
                await self._timeout(exp, float(timeout_s))
            if finished or timed_out:
                return
            await self._sleep_until(self._next_wake(in_flight, answers, now))

    def _next_wake(self, in_flight: list[Experiment], answers: list[Any], now: float) -> float:
        candidates = [a.eta for a in answers if isinstance(a, Running) and a.eta is not None]
        timeout_s = self._settings("timeout_s", None)
        if timeout_s is not None:
            candidates += [
                e.started_at + float(timeout_s) for e in in_flight if e.started_at is not None
            ]
        candidates = [c for c in candidates if c > now]  # an eta in the past must not spin
        if len(candidates) < len(in_flight) or not self.clock.virtual:
            candidates.append(now + self.poll_interval_s)
        return min(candidates)

    async def _sleep_until(self, t: float) -> None:
        """Sleep in steps short enough to renew the lease between them (paced or real time)."""
        step = self.clock.campaign_seconds(LEASE_TTL_S / 3)
        while self.clock.now() < t:
            await self.clock.sleep_until(min(t, self.clock.now() + step))
            self._renew_lease()

    async def _ask(self, exp: Experiment, now: float) -> MachineStatus | Unknown:
        """Poll one job. A failed poll does not end the attempt (the machine may still be
        running it): keep asking, and after `POLL_ERRORS_LIMIT` failures in a row, pause the
        machine and ask a person."""
        machine = self.machines.get(exp.machine or "")
        if machine is None:
            return Unknown(f"machine {exp.machine!r} is not attached to this runtime")
        key = (exp.id, exp.attempt)
        try:
            answer = await machine.poll(self._job(exp), now=now)
        except Exception as err:
            self._poll_errors[key] = self._poll_errors.get(key, 0) + 1
            if self._poll_errors[key] >= POLL_ERRORS_LIMIT:
                return Unknown(
                    f"{POLL_ERRORS_LIMIT} polls failed, last: {type(err).__name__}: {err}"
                )
            return Running(eta=None)
        self._poll_errors.pop(key, None)
        return answer

    async def _timeout(self, exp: Experiment, timeout_s: float) -> None:
        self._renew_lease(force=True)
        machine = self.machines.get(exp.machine or "")
        if machine is not None:
            try:
                await machine.stop(self._job(exp))
            except Exception as err:
                self._unknown(exp, f"timed out after {timeout_s:g} s and stop failed: {err}")
                return
        self._finish(exp, Failure(Cause.TIMEOUT, f"no answer within {timeout_s:g} s"))

    def _finish(self, exp: Experiment, answer: Outcome | Failure) -> None:
        if isinstance(answer, Outcome):
            self._emit(OPERATOR, [operator.on_outcome(exp, answer)])
            self._emit(ANALYST, analyst.validate(self.state, exp.id))
            if exp.control:
                self._emit(ANALYST, analyst.drift(self.state))
            self._emit(ANALYST, analyst.outliers(self.state))
            return
        failed = operator.on_failure(exp, answer, retries=int(self._settings("retries", 2)))
        self._emit(OPERATOR, [failed])
        if answer.cause is Cause.SAFETY_ABORT:
            self._emit(SAFETY, [MachinePaused(machine=exp.machine or "", reason=answer.reason)])

    def _unknown(self, exp: Experiment, reason: str) -> None:
        self._emit(OPERATOR, [operator.on_unknown(exp, exp.machine or "", reason)])
        self._emit(SAFETY, [MachinePaused(machine=exp.machine or "", reason=reason)])
