"""Every peer adapter meets the Proposer contract of `daedalus.testing`."""

from __future__ import annotations

import pytest

from daedalus.proposers import Proposer, make_proposer
from daedalus.testing.proposer_contract import CONTRACT, ContractCase

PEERS = ("ax", "optuna-tpe", "optuna-gp", "baybe", "random")
# Ax and BayBE fit a GP per case (1-10 s each on a busy 2-core host): slow, still run by CI.
SLOW = ("ax", "baybe")


@pytest.mark.parametrize("case", CONTRACT, ids=str)
@pytest.mark.parametrize(
    "name", [pytest.param(p, marks=pytest.mark.slow) if p in SLOW else p for p in PEERS]
)
def test_peer_meets_the_contract(name: str, case: ContractCase) -> None:
    # A fresh instance per case, as a fresh campaign (or a resumed one) would build it.
    case.check(make_proposer(name))


@pytest.mark.parametrize("name", PEERS)
def test_peer_satisfies_the_protocol(name: str) -> None:
    proposer = make_proposer(name)
    assert isinstance(proposer, Proposer)
    assert proposer.name == name
