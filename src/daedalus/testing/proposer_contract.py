"""The contract every `Proposer` meets, as a suite that plugin authors run on their own proposer.

The rules, each checked on a continuous space, a mixed space (`Real`, `Integer`, `Choice`) and
a space with linear constraints:

- `propose` returns a list of exactly `n` designs, each valid in the space (bounds, types,
  options and linear constraints), and no two equal;
- with an empty history, with observed trials, and with failed trials (values None);
- no returned design equals a pending one, even when the pending designs are exactly what the
  proposer returned for the same seed a moment before;
- the same space, goal, history and seed give the same designs.

Run it from your own tests, one pytest item per case:

```python
import pytest
from daedalus.testing.proposer_contract import CONTRACT, ContractCase

from my_plugin import AnnealingProposer


@pytest.mark.parametrize("case", CONTRACT, ids=str)
def test_annealing_proposer_meets_the_contract(case: ContractCase) -> None:
    case.check(AnnealingProposer(steps=50))
```

or all at once with `check_proposer(AnnealingProposer(steps=50))`. A broken rule raises
`AssertionError` naming the case, the space and the offending designs. The histories hold up
to 12 observed trials, so a model-based proposer leaves its initial design in some cases;
keep its optimiser settings small to make the suite fast.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from daedalus.errors import InvalidParams
from daedalus.goal import Goal, Maximize, Minimize
from daedalus.proposers.base import History, Proposer, Trial
from daedalus.proposers.sobol import SobolProposer, design_key
from daedalus.space import Choice, Integer, Params, Real, Space, Value

__all__ = ["CONTRACT", "ContractCase", "check_proposer"]

_SEED = 20240611


@dataclass(frozen=True, slots=True)
class _Problem:
    name: str
    space: Space
    goal: Goal


def _problems() -> tuple[_Problem, ...]:
    return (
        _Problem(
            "continuous",
            Space([Real("temperature_c", 20.0, 80.0), Real("flow_ml_min", 0.1, 10.0, log=True)]),
            Goal(Minimize("loss")),
        ),
        _Problem(
            "mixed",
            Space(
                [
                    Real("temperature_c", 20.0, 80.0),
                    Integer("stages", 1, 5),
                    Choice("solvent", ("water", "ethanol", "dmso")),
                ]
            ),
            Goal(Maximize("yield_pct"), constraints=["cost_usd <= 50"]),
        ),
        _Problem(
            "linear_constraints",
            Space(
                [
                    Real("flow_a_ml_min", 0.0, 10.0),
                    Real("flow_b_ml_min", 0.0, 10.0),
                    Integer("passes", 1, 4),
                ],
                constraints=["flow_a_ml_min + flow_b_ml_min <= 8", "flow_a_ml_min - 2*passes <= 3"],
            ),
            Goal(Maximize("throughput")),
        ),
    )


def _outcome(problem: _Problem, params: Mapping[str, Value]) -> dict[str, float]:
    """A smooth, deterministic stand-in for a machine: one value per goal metric near 50."""
    u = problem.space.encode(params)
    return {
        metric: 50.0 + 10.0 * sum(math.sin(3.0 * x + j) for x in u) / len(u)
        for j, metric in enumerate(problem.goal.metrics)
    }


def _history(problem: _Problem, *, observed: int = 0, failed: int = 0) -> History:
    """`observed` finished trials and `failed` failed ones, at Sobol designs of the space."""
    if observed + failed == 0:
        return History()
    designs = SobolProposer().propose(
        problem.space, problem.goal, History(), n=observed + failed, seed=_SEED
    )
    trials = [
        Trial(f"exp-{i:03d}", d, _outcome(problem, d))
        if i < observed
        else Trial(f"exp-{i:03d}", d, None, cause="infeasible")
        for i, d in enumerate(designs)
    ]
    return History(trials=trials, n_proposed=len(trials))


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def _check_batch(
    problem: _Problem,
    designs: object,
    *,
    n: int,
    pending: Sequence[Mapping[str, Value]] = (),
) -> list[Params]:
    """Check that `designs` are `n` valid, distinct designs, none of them pending."""
    where = f"space '{problem.name}' {problem.space!r}"
    if not isinstance(designs, list) or len(designs) != n:
        raise AssertionError(f"{where}: expected a list of {n} designs, got {designs!r}")
    clean: list[Params] = []
    for design in designs:
        try:
            clean.append(problem.space.validate(design))
        except InvalidParams as err:
            raise AssertionError(f"{where}: returned an invalid design {design!r}: {err}") from err
    keys = [design_key(problem.space, d) for d in clean]
    _expect(len(set(keys)) == len(keys), f"{where}: repeats a design in one batch: {clean}")
    busy = {design_key(problem.space, problem.space.validate(p)) for p in pending}
    clashes = [d for d, k in zip(clean, keys, strict=True) if k in busy]
    _expect(not clashes, f"{where}: returned designs that are pending: {clashes}")
    return clean


def _valid_designs(
    problem: _Problem, *, observed: int, failed: int, n: int
) -> Callable[[Proposer], None]:
    def check(proposer: Proposer) -> None:
        history = _history(problem, observed=observed, failed=failed)
        designs = proposer.propose(problem.space, problem.goal, history, n=n, seed=_SEED)
        _check_batch(problem, designs, n=n)

    return check


def _pending_respected(problem: _Problem, *, observed: int) -> Callable[[Proposer], None]:
    def check(proposer: Proposer) -> None:
        history = _history(problem, observed=observed)
        first = proposer.propose(problem.space, problem.goal, history, n=2, seed=_SEED)
        _check_batch(problem, first, n=2)
        # Same seed and same n_proposed: a proposer that ignores pending repeats itself here.
        busy = History(trials=history.trials, pending=first, n_proposed=history.n_proposed)
        second = proposer.propose(problem.space, problem.goal, busy, n=2, seed=_SEED)
        _check_batch(problem, second, n=2, pending=first)

    return check


def _deterministic(problem: _Problem, *, observed: int) -> Callable[[Proposer], None]:
    def check(proposer: Proposer) -> None:
        base = _history(problem, observed=observed + 1)
        trials, pending = base.trials[:-1], [base.trials[-1].params]
        history = History(trials=trials, pending=pending, n_proposed=len(base.trials))
        runs = [
            proposer.propose(problem.space, problem.goal, history, n=2, seed=_SEED + 1)
            for _ in range(2)
        ]
        _check_batch(problem, runs[0], n=2, pending=pending)
        _expect(
            runs[0] == runs[1],
            f"space '{problem.name}': same inputs and seed gave {runs[0]} then {runs[1]}",
        )

    return check


@dataclass(frozen=True, slots=True)
class ContractCase:
    """One rule of the contract on one space; `check(proposer)` raises AssertionError when the
    proposer breaks it."""

    name: str
    run: Callable[[Proposer], None]

    def check(self, proposer: Proposer) -> None:
        """Run the case on `proposer`."""
        self.run(proposer)

    def __str__(self) -> str:
        return self.name


def _cases() -> tuple[ContractCase, ...]:
    cases = []
    for p in _problems():
        cases += [
            ContractCase(f"empty_history[{p.name}]", _valid_designs(p, observed=0, failed=0, n=3)),
            ContractCase(f"one_design[{p.name}]", _valid_designs(p, observed=12, failed=0, n=1)),
            ContractCase(f"with_history[{p.name}]", _valid_designs(p, observed=12, failed=0, n=3)),
            ContractCase(f"failed_trials[{p.name}]", _valid_designs(p, observed=9, failed=4, n=2)),
            ContractCase(f"pending_initial[{p.name}]", _pending_respected(p, observed=0)),
            ContractCase(f"pending_with_history[{p.name}]", _pending_respected(p, observed=12)),
            ContractCase(f"deterministic[{p.name}]", _deterministic(p, observed=12)),
        ]
    return tuple(cases)


CONTRACT: tuple[ContractCase, ...] = _cases()


def check_proposer(proposer: Proposer) -> None:
    """Run every case of `CONTRACT` on `proposer`; raise AssertionError at the first broken rule,
    prefixed with the case name."""
    for case in CONTRACT:
        try:
            case.check(proposer)
        except AssertionError as err:
            raise AssertionError(f"{case.name}: {err}") from err
