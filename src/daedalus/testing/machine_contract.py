"""A contract every simulator and every `Machine` passes; plugin authors reuse it.

Usage in a plugin's tests::

    from daedalus.testing.machine_contract import check_simulator, check_machine

    def test_my_simulator_keeps_the_contract():
        check_simulator(MySimulator())

    async def test_my_machine_keeps_the_contract():  # or asyncio.run(...)
        await check_machine(MyMachine(), params={...})

Each check raises `AssertionError` naming the rule that broke.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable, Mapping
from typing import Any

from daedalus.events import Cause
from daedalus.machines.base import Failure, Job, Machine, NotStarted, Outcome, Running
from daedalus.problem import Problem
from daedalus.sims.base import SimulatedMachine, Simulator
from daedalus.space import Value


def sample_designs(problem: Problem, n: int, *, seed: int = 0) -> list[dict[str, Value]]:
    """`n` valid designs spread over the space (Sobol), for contract checks."""
    from daedalus.proposers.base import History
    from daedalus.proposers.sobol import SobolProposer

    return SobolProposer().propose(problem.space, problem.goal, History(), n=n, seed=seed)


def _check_result(problem: Problem, result: Any, where: str) -> None:
    assert isinstance(result, Outcome | Failure), f"{where}: returned {type(result).__name__}"
    assert math.isfinite(result.duration_s) and result.duration_s > 0, (
        f"{where}: duration_s must be a positive number of simulated seconds"
    )
    if isinstance(result, Failure):
        assert isinstance(result.cause, Cause), f"{where}: a Failure needs a Cause"
        assert result.reason, f"{where}: a Failure needs a human reason"
        return
    missing = [m for m in problem.goal.metrics if m not in result.values]
    assert not missing, f"{where}: the outcome lacks the goal's metrics {missing}"
    for name, value in result.values.items():
        assert isinstance(value, float | int) and math.isfinite(value), (
            f"{where}: {name}={value!r} is not a finite number"
        )


def check_simulator(
    simulator: Simulator, *, designs: int = 16, seeds: Iterable[int] = (0, 1, 2)
) -> None:
    """A simulator: a `Problem` with units and a reference, valid and deterministic results."""
    problem = simulator.problem
    assert isinstance(problem, Problem), "problem must be a daedalus.Problem"
    unitless = [n for n in (*problem.space.names, *problem.goal.metrics) if n not in problem.units]
    assert not unitless, f"problem.units lacks {unitless} (use '1' for dimensionless)"
    assert problem.reference is not None, "a built-in simulator ships a reference optimum"
    assert problem.space.contains(problem.reference.params) or not problem.reference.params, (
        "the reference design must lie in the space"
    )
    for i, params in enumerate(sample_designs(problem, designs)):
        for seed in seeds:
            first = simulator.evaluate(params, seed=seed)
            _check_result(problem, first, f"design {i} seed {seed}")
            again = simulator.evaluate(params, seed=seed)
            assert again == first, f"design {i} seed {seed}: same seed, different result"
    asyncio.run(check_machine(SimulatedMachine(simulator, name="contract"),
                              params=sample_designs(problem, 1)[0], problem=problem))  # fmt: skip


async def check_machine(
    machine: Machine, *, params: Mapping[str, Value], problem: Problem | None = None
) -> None:
    """A machine: start, then poll until an answer; reconcile agrees with poll; a job never
    started reconciles as `NotStarted`."""
    assert isinstance(machine.name, str) and machine.name, "a machine needs a name"
    assert isinstance(machine.idempotent, bool), "idempotent must be a bool"
    job = Job("e0001", dict(params), attempt=1, seed=7, started_at=0.0)
    fresh = Job("e0002", dict(params), attempt=1, seed=8, started_at=0.0)
    assert isinstance(await machine.reconcile(fresh, dispatched=False, now=0.0), NotStarted), (
        "a job never started must reconcile as NotStarted"
    )
    await machine.start(job)
    now, answer = 0.0, await machine.poll(job, now=0.0)
    for _ in range(10_000):
        if not isinstance(answer, Running):
            break
        assert answer.eta is None or answer.eta >= now, "eta lies in the past"
        now = answer.eta if answer.eta is not None else now + 1.0
        answer = await machine.poll(job, now=now)
    assert not isinstance(answer, Running), "the job never finished"
    if problem is not None:
        _check_result(problem, answer, f"machine {machine.name}")
    later = await machine.reconcile(job, dispatched=True, now=now)
    assert later == answer, "reconcile after the fact must agree with poll"
