"""`AxProposer`: Ax's default generation strategy through its `Client` API (ax-platform 1.3).

Mapping: a `Real` is a float `RangeParameterConfig` (log-scaled when `log=True`), an `Integer`
an int one, a `Choice` an unordered string `ChoiceParameterConfig` (options as labels); the
space's linear constraints are Ax parameter constraints, the goal's objective is Ax's objective
(`-name` to minimise) and its outcome constraints are Ax outcome constraints. Results are
completed with the goal's metrics (Ax infers the noise); a failed experiment is marked failed;
a suggestion that is invalid or repeats a known design is marked abandoned. The generation
strategy is the one `Client` chooses when none is configured (Sobol with the centre point, then
Ax's modular BoTorch defaults), seeded with `Client(random_seed=...)`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from daedalus.goal import Goal
from daedalus.peers.base import (
    Tracker,
    choice_labels,
    goal_values,
    objective_of,
    peer_seed,
    require,
)
from daedalus.proposers.base import History, Trial
from daedalus.space import Choice, Integer, Params, Real, Space


def ax_parameters(space: Space) -> list[Any]:
    """Ax parameter configs for `space`."""
    configs = require("ax.api.configs", peer="ax")
    out: list[Any] = []
    for p in space.parameters:
        if isinstance(p, Real):
            scaling = "log" if p.log else "linear"
            out.append(
                configs.RangeParameterConfig(p.name, (p.low, p.high), "float", None, scaling)
            )
        elif isinstance(p, Integer):
            out.append(configs.RangeParameterConfig(p.name, (p.low, p.high), "int"))
        else:
            values = list(choice_labels(p))
            out.append(configs.ChoiceParameterConfig(p.name, values, "str", is_ordered=False))
    return out


def ax_constraints(space: Space) -> list[str]:
    """The space's linear constraints in Ax's string form."""
    return [
        " + ".join(f"{coef!r}*{name}" for name, coef in c.coefficients.items())
        + f" <= {float(c.bound)!r}"
        for c in space.constraints
    ]


def to_ax(space: Space, params: Params) -> dict[str, Any]:
    """A design as Ax parameters: choice options as their labels."""
    out: dict[str, Any] = {}
    for p in space.parameters:
        value = params[p.name]
        if isinstance(p, Choice):
            value = choice_labels(p)[p.options.index(value)]
        out[p.name] = value
    return out


class _AxSession:
    def __init__(self, space: Space, goal: Goal, seed: int) -> None:
        ax = require("ax", peer="ax")
        logger_module = require("ax.utils.common.logger", peer="ax")
        logger_module.set_ax_logger_levels(logging.ERROR)  # Ax logs every trial at INFO
        metric, minimise = objective_of(goal, "ax")
        self.space, self.goal = space, goal
        self.client = ax.Client(random_seed=peer_seed(seed))
        self.client.configure_experiment(
            parameters=ax_parameters(space),
            parameter_constraints=ax_constraints(space) or None,
            name="daedalus",
        )
        self.client.configure_optimization(
            objective=f"-{metric}" if minimise else metric,
            outcome_constraints=[str(c) for c in goal.constraints] or None,
        )

    def attach(self, params: Params) -> Any:
        return self.client.attach_trial(parameters=to_ax(self.space, params))

    def finish(self, handle: Any, trial: Trial) -> None:
        if trial.values is None:
            self.client.mark_trial_failed(handle, failed_reason=trial.cause)
        else:
            self.client.complete_trial(handle, raw_data=goal_values(self.goal, trial.values))

    def reject(self, handle: Any) -> None:
        self.client.mark_trial_abandoned(handle)

    def ask(self, n: int) -> list[tuple[Any, Mapping[str, Any]]]:
        # Client seeds the global generators with its random_seed around every generation.
        return list(self.client.get_next_trials(max_trials=n).items())


@dataclass(eq=False)
class AxProposer:
    """Ax with its default generation strategy, asked and told through `ax.Client`.

    Keeps one live `Client` per run; see `daedalus.peers.base` for how it follows the history.
    """

    name: str = field(default="ax", init=False)
    _tracker: Tracker = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        require("ax", peer=self.name)
        self._tracker = Tracker(self.name)

    def propose(
        self, space: Space, goal: Goal, history: History, *, n: int, seed: int
    ) -> list[Params]:
        """Return `n` new valid designs from Ax; see the module docstring for the mapping."""
        return self._tracker.propose(space, goal, history, n=n, seed=seed, start=_AxSession)
