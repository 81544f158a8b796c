"""`OptunaTPEProposer` and `OptunaGPProposer`: Optuna's TPE and GP samplers (optuna 5.0).

Mapping: a `Real` is a `FloatDistribution` (log when `log=True`), an `Integer` an
`IntDistribution`, a `Choice` a `CategoricalDistribution` of its options; the study minimises or
maximises the goal's objective, and each outcome constraint is set on the trial with Optuna's
native `Trial.set_constraint` (`value - bound` for `<=`, feasible when <= 0), which both samplers
read. A failed experiment is told as `TrialState.FAIL`. Optuna has no linear parameter
constraints: a suggestion that breaks one is repaired to the nearest valid design, which is
told in its place (`daedalus.peers.base`), and the suggestion itself is told as failed, as is
one that repeats a known design. Samplers use their defaults apart from the seed; the TPE
sampler is Optuna's default sampler.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from daedalus.goal import Goal
from daedalus.peers.base import (
    Tracker,
    objective_of,
    peer_seed,
    require,
    seeded,
    violations,
)
from daedalus.proposers.base import History, Trial
from daedalus.space import Integer, Params, Real, Space


def distributions(space: Space) -> dict[str, Any]:
    """Optuna distributions for `space`."""
    optuna = require("optuna", peer="optuna")
    out: dict[str, Any] = {}
    for p in space.parameters:
        if isinstance(p, Real):
            out[p.name] = optuna.distributions.FloatDistribution(p.low, p.high, log=p.log)
        elif isinstance(p, Integer):
            out[p.name] = optuna.distributions.IntDistribution(p.low, p.high)
        else:
            out[p.name] = optuna.distributions.CategoricalDistribution(p.options)
    return out


class _OptunaSession:
    def __init__(self, space: Space, goal: Goal, seed: int, *, sampler: str) -> None:
        optuna = require("optuna", peer=f"optuna-{sampler}")
        optuna.logging.set_verbosity(logging.WARNING)  # Optuna logs every trial at INFO
        metric, minimise = objective_of(goal, f"optuna-{sampler}")
        seed = peer_seed(seed)
        if sampler == "tpe":
            chosen = optuna.samplers.TPESampler(seed=seed)
        else:
            chosen = optuna.samplers.GPSampler(seed=seed)
        self.optuna, self.goal, self.metric = optuna, goal, metric
        self.seed = seed
        self.distributions = distributions(space)
        self.study = optuna.create_study(
            sampler=chosen, direction="minimize" if minimise else "maximize"
        )

    def attach(self, params: Params) -> Any:
        trial = self.optuna.trial.create_trial(
            state=self.optuna.trial.TrialState.RUNNING,
            params=dict(params),
            distributions=self.distributions,
        )
        self.study.add_trial(trial)
        # A live handle on the stored trial, so constraints can be set on it when it ends;
        # building one samples nothing (Optuna samples lazily, on the first suggest).
        stored = self.study.get_trials(deepcopy=False)[-1]
        return self.optuna.Trial(self.study, stored._trial_id)

    def finish(self, handle: Any, trial: Trial) -> None:
        if trial.values is None:
            self.study.tell(handle, state=self.optuna.trial.TrialState.FAIL)
            return
        for c, violation in zip(
            self.goal.constraints, violations(self.goal, trial.values), strict=True
        ):
            handle.set_constraint(str(c), violation)
        self.study.tell(handle, float(trial.values[self.metric]))

    def reject(self, handle: Any) -> None:
        self.study.tell(handle, state=self.optuna.trial.TrialState.FAIL)

    def ask(self, n: int) -> list[tuple[Any, Mapping[str, Any]]]:
        out: list[tuple[Any, Mapping[str, Any]]] = []
        with seeded(self.seed + len(self.study.trials)):
            for _ in range(n):
                trial = self.study.ask(self.distributions)
                out.append((trial, dict(trial.params)))
        return out


@dataclass(eq=False)
class _OptunaProposer:
    """An Optuna sampler (`sampler`: "tpe" or "gp"), asked and told through an in-memory
    study; the subclasses below name it."""

    name: str = field(default="", init=False)
    _tracker: Tracker = field(init=False, repr=False, compare=False)
    sampler: ClassVar[str] = ""

    def __post_init__(self) -> None:
        require("optuna", peer=self.name)
        self._tracker = Tracker(self.name)

    def propose(
        self, space: Space, goal: Goal, history: History, *, n: int, seed: int
    ) -> list[Params]:
        """Return `n` new valid designs from the sampler; see the module docstring."""
        return self._tracker.propose(
            space,
            goal,
            history,
            n=n,
            seed=seed,
            start=lambda s, g, k: _OptunaSession(s, g, k, sampler=self.sampler),
        )


@dataclass(eq=False)
class OptunaTPEProposer(_OptunaProposer):
    """Optuna's default `TPESampler`."""

    name: str = field(default="optuna-tpe", init=False)
    sampler: ClassVar[str] = "tpe"


@dataclass(eq=False)
class OptunaGPProposer(_OptunaProposer):
    """Optuna's `GPSampler` (logEI, constrained logEI with outcome constraints)."""

    name: str = field(default="optuna-gp", init=False)
    sampler: ClassVar[str] = "gp"
