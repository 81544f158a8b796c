"""Every built-in simulator keeps the simulator and machine contracts."""

from __future__ import annotations

import pytest

from daedalus.sims.registry import SIMULATORS, get_simulator
from daedalus.testing.machine_contract import check_simulator


@pytest.mark.parametrize("name", sorted(SIMULATORS))
def test_simulator_keeps_the_contract(name: str) -> None:
    try:
        simulator = get_simulator(name)
    except ImportError as err:
        pytest.skip(f"{name} needs an optional extra: {err}")
    check_simulator(simulator)


def test_the_contract_catches_a_nondeterministic_simulator() -> None:
    import random

    from daedalus.machines.base import Outcome

    base = get_simulator("branin")

    class Noisy:
        problem = base.problem

        def evaluate(self, params: object, *, seed: int) -> Outcome:
            return Outcome({"value": random.random()}, duration_s=1.0)

    with pytest.raises(AssertionError, match="same seed, different result"):
        check_simulator(Noisy())  # type: ignore[arg-type]
