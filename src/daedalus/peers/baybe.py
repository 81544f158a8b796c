"""`BaybeProposer`: BayBE's default recommender in a `baybe.Campaign` (baybe 0.15).

The default is BayBE's `TwoPhaseMetaRecommender`: random designs until the first measurement,
then its `BotorchRecommender` (a GP with BayBE's default kernel and priors, qLogEI).

Mapping: a `Real` is a `NumericalContinuousParameter` (BayBE has no log scale, so a log-scaled
`Real` is searched linearly), a `Choice` a `CategoricalParameter` of option labels, and an
`Integer` a continuous parameter on `[low, high]` whose suggestions are rounded to the nearest
integers that keep the linear constraints, as `BayesProposer` relaxes integers with many
levels (the pressure vessel's; it then searches the other parameters again at the levels
found, and enumerates a few levels like categories): a
`NumericalDiscreteParameter` would make a product space (99 x 99 values on the pressure vessel)
that BayBE optimises one combination at a time, and BayBE cannot constrain discrete and
continuous parameters together. Linear constraints are `ContinuousLinearConstraint`s. The
objective is a `NumericalTarget` (`minimize=True` to minimise). BayBE 0.15 has no outcome
constraints: the goal's constraints are not given to it, and its designs are scored against
them all the same (documented in docs/benchmarks.md). BayBE has no notion of a failed
experiment either: failed designs, like pending ones and suggestions that could not be used,
are passed as `pending_experiments`, so its acquisition treats them as taken (the only channel
it offers) instead of suggesting them again. BayBE draws from the global generators; every
call is seeded from the run's seed and the number of calls so far, and the state is restored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from daedalus.goal import Goal
from daedalus.peers.base import (
    Tracker,
    choice_labels,
    objective_of,
    peer_seed,
    require,
    roundings,
    seeded,
    to_params,
)
from daedalus.proposers.base import History, Trial
from daedalus.space import Choice, Integer, Params, Real, Space


def searchspace(space: Space) -> Any:
    """A BayBE `SearchSpace` for `space`; see the module docstring."""
    parameters = require("baybe.parameters", peer="baybe")
    constraints = require("baybe.constraints", peer="baybe")
    baybe_searchspace = require("baybe.searchspace", peer="baybe")
    out: list[Any] = []
    for p in space.parameters:
        if isinstance(p, Real | Integer):
            out.append(parameters.NumericalContinuousParameter(p.name, (p.low, p.high)))
        else:
            out.append(parameters.CategoricalParameter(p.name, choice_labels(p)))
    linear = [
        constraints.ContinuousLinearConstraint(
            parameters=list(c.coefficients),
            operator="<=",
            coefficients=[float(v) for v in c.coefficients.values()],
            rhs=float(c.bound),
        )
        for c in space.constraints
    ]
    return baybe_searchspace.SearchSpace.from_product(out, linear or None)


class _BaybeSession:
    def __init__(self, space: Space, goal: Goal, seed: int) -> None:
        baybe = require("baybe", peer="baybe")
        targets = require("baybe.targets", peer="baybe")
        self.pandas = require("pandas", peer="baybe")
        metric, minimise = objective_of(goal, "baybe")
        self.space, self.metric, self.seed, self.calls = space, metric, peer_seed(seed), 0
        objective = targets.NumericalTarget(metric, minimize=minimise).to_objective()
        self.campaign = baybe.Campaign(searchspace(space), objective)
        self.measured = 0
        self.taken: dict[int, dict[str, Any]] = {}  # handle -> design BayBE must treat as taken
        self.next_handle = 0

    def _labels(self, params: Mapping[str, Any]) -> dict[str, Any]:
        out = {}
        for p in self.space.parameters:
            value = params[p.name]
            if isinstance(p, Choice):
                value = choice_labels(p)[p.options.index(value)]
            out[p.name] = float(value) if isinstance(p, Real | Integer) else value
        return out

    def _take(self, row: Mapping[str, Any]) -> int:
        self.next_handle += 1
        self.taken[self.next_handle] = {p.name: row[p.name] for p in self.space.parameters}
        return self.next_handle

    def attach(self, params: Params) -> Any:
        return self._take(self._labels(params))

    def finish(self, handle: Any, trial: Trial) -> None:
        if trial.values is None:
            return  # stays taken: see the module docstring
        row = self.taken.pop(handle) | {self.metric: float(trial.values[self.metric])}
        with seeded(None):
            self.campaign.add_measurements(self.pandas.DataFrame([row]))
        self.measured += 1

    def reject(self, handle: Any) -> None:
        pass  # stays taken

    def ask(self, n: int) -> list[tuple[Any, Mapping[str, Any]]]:
        # The random first phase refuses pending experiments; it ignores them anyway.
        pending = None
        if self.measured and self.taken:
            pending = self.pandas.DataFrame(list(self.taken.values()))
        self.calls += 1
        # Campaign caches its last recommendations and hands them out again while no data
        # arrives; the tracker wants new designs whenever it asks.
        self.campaign.clear_cache()
        with seeded(self.seed + self.calls):
            frame = self.campaign.recommend(batch_size=n, pending_experiments=pending)
        out: list[tuple[Any, Mapping[str, Any]]] = []
        for record in frame.to_dict(orient="records"):
            raw = next(
                (r for r in roundings(self.space, record) if to_params(self.space, r)),
                record,
            )
            out.append((self._take(raw), raw))
        return out


@dataclass(eq=False)
class BaybeProposer:
    """BayBE's default recommender, asked and told through a live `baybe.Campaign`."""

    name: str = field(default="baybe", init=False)
    _tracker: Tracker = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        require("baybe", peer=self.name)
        self._tracker = Tracker(self.name)

    def propose(
        self, space: Space, goal: Goal, history: History, *, n: int, seed: int
    ) -> list[Params]:
        """Return `n` new valid designs from BayBE; see the module docstring for the mapping."""
        return self._tracker.propose(space, goal, history, n=n, seed=seed, start=_BaybeSession)
