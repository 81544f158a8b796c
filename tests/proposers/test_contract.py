"""Both built-in proposers meet the Proposer contract of `daedalus.testing`."""

from __future__ import annotations

import pytest

from daedalus.goal import Goal
from daedalus.proposers import BayesProposer, History, Proposer, SobolProposer
from daedalus.space import Params, Space
from daedalus.testing.proposer_contract import CONTRACT, ContractCase, check_proposer

PROPOSERS: dict[str, Proposer] = {
    "sobol": SobolProposer(),
    # Small optimiser settings keep the suite fast; the behaviour tests use the defaults.
    "bayes": BayesProposer(num_restarts=2, raw_samples=32),
}


@pytest.mark.parametrize("case", CONTRACT, ids=str)
@pytest.mark.parametrize("proposer", PROPOSERS.values(), ids=PROPOSERS.keys())
def test_proposer_meets_the_contract(proposer: Proposer, case: ContractCase) -> None:
    case.check(proposer)


def test_proposers_satisfy_the_protocol() -> None:
    assert all(isinstance(p, Proposer) for p in PROPOSERS.values())


class _RepeatsPending:
    """A broken proposer: it ignores pending designs."""

    name = "repeats-pending"

    def propose(
        self, space: Space, goal: Goal, history: History, *, n: int, seed: int
    ) -> list[Params]:
        return SobolProposer().propose(space, goal, History(), n=n, seed=seed)


def test_contract_catches_a_proposer_that_ignores_pending() -> None:
    with pytest.raises(AssertionError, match="pending"):
        check_proposer(_RepeatsPending())
