"""The `Simulator` protocol and `SimulatedMachine`, which runs any simulator as a `Machine`.

A simulator is a pure, seeded function from a design to an `Outcome` or a `Failure`, each with
the simulated duration of the experiment. `SimulatedMachine` turns it into a machine that takes
that much campaign time, so the runtime treats it exactly like real hardware.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from importlib import resources
from typing import Any, Protocol, runtime_checkable

import numpy as np

from daedalus.errors import InvalidCampaign
from daedalus.machines.base import Evaluation, Finding, Job, NotStarted, Running, Status
from daedalus.problem import Problem, Reference
from daedalus.space import Value


@runtime_checkable
class Simulator(Protocol):
    """A seeded model of a physical process with its `problem`."""

    problem: Problem

    def evaluate(self, params: Mapping[str, Value], *, seed: int) -> Evaluation:
        """Run one simulated experiment. Same params and seed, same result."""
        ...


@runtime_checkable
class ClockedSimulator(Protocol):
    """A simulator whose process drifts with campaign time (catalyst deactivation, a sensor
    offset). `clocked` is True when a drift option is on; only then does `SimulatedMachine`
    pass `at_s`, the campaign time in seconds at which the experiment starts."""

    problem: Problem
    clocked: bool

    def evaluate(self, params: Mapping[str, Value], *, seed: int, at_s: float = 0.0) -> Evaluation:
        """Run one simulated experiment started at campaign time `at_s`."""
        ...


class SimulatedMachine:
    """A `Machine` backed by a `Simulator`: an experiment finishes `duration_s` after its start.

    Stateless across processes: the job (params, seed, start time) determines the answer, so
    `reconcile` after a crash answers exactly what `poll` would have.
    """

    idempotent = False  # behave like the real process: never re-run an unknown attempt silently

    def __init__(self, simulator: Simulator, *, name: str) -> None:
        self.simulator = simulator
        self.name = name
        self._cache: dict[tuple[str, int], Evaluation] = {}

    def _evaluate(self, job: Job) -> Evaluation:
        key = (job.experiment_id, job.attempt)
        if key not in self._cache:
            if isinstance(self.simulator, ClockedSimulator) and self.simulator.clocked:
                # Drift follows campaign time; the start time is journaled with the dispatch,
                # so a reconcile after a crash sees the same moment and gets the same answer.
                self._cache[key] = self.simulator.evaluate(
                    job.params, seed=job.seed, at_s=job.started_at
                )
            else:
                self._cache[key] = self.simulator.evaluate(job.params, seed=job.seed)
        return self._cache[key]

    async def start(self, job: Job) -> None:
        self._evaluate(job)

    async def poll(self, job: Job, *, now: float) -> Status:
        result = self._evaluate(job)
        done_at = job.started_at + result.duration_s
        if now < done_at:
            return Running(eta=done_at)
        self._cache.pop((job.experiment_id, job.attempt), None)
        return result

    async def stop(self, job: Job) -> None:
        self._cache.pop((job.experiment_id, job.attempt), None)

    async def reconcile(self, job: Job, *, dispatched: bool, now: float) -> Finding:
        if not dispatched:
            return NotStarted()
        return await self.poll(job, now=now)


def read_fixture(filename: str) -> dict[str, Any]:
    """A JSON fixture shipped in `daedalus/sims/data/` (reference optima and their provenance)."""
    text = resources.files("daedalus.sims").joinpath("data", filename).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def load_reference(filename: str) -> Reference:
    """The `Reference` in a fixture with `value`, `params`, `source` (the script) and `method`,
    and for several objectives `front` (a list of outcomes)."""
    data = read_fixture(filename)
    return Reference(
        value=float(data["value"]),
        params=dict(data["params"]),
        source=f"{data['source']}: {data['method']}",
        front=tuple(dict(p) for p in data.get("front", ())),
    )


def check_option(owner: str, name: str, value: object, *, low: float = 0.0, high: float) -> float:
    """A simulator option that must be a number in `[low, high]`, or `InvalidCampaign`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidCampaign(f"{owner}: {name} must be a number, got {value!r}")
    if not (math.isfinite(value) and low <= value <= high):
        raise InvalidCampaign(
            f"{owner}: {name} must lie in [{low:g}, {high:g}], got {value!r}; pass a value in range"
        )
    return float(value)


GROSS_ERROR_STREAM = 0x6E0  # a second random stream of the seed: gross errors leave noise alone


def gross_error(seed: int, rate: float) -> tuple[float, float] | None:
    """Whether a reading of `seed` suffers a gross error (probability `rate`), as
    `(sign, u)`: a sign of +-1 with equal chances and `u` uniform on [0, 1), which each simulator
    maps to the size of its error; None for a sound reading. Drawn from its own stream of the
    seed, so a campaign's readings are the same with and without gross errors except where one
    strikes, and nothing is drawn when `rate` is 0."""
    if rate <= 0.0:
        return None
    draws = np.random.default_rng([seed, GROSS_ERROR_STREAM]).random(3)
    if draws[0] >= rate:
        return None
    return (1.0 if draws[1] < 0.5 else -1.0), float(draws[2])
