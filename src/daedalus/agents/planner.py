"""The planner: asks a `Proposer` for the next designs given everything the journal holds.

Pure: no I/O, no clock. The seed of each call is derived from the campaign seed and the number
of earlier planner decisions, and is journaled with the proposal, so a resumed campaign asks the
proposer exactly what an uninterrupted one would.
"""

from __future__ import annotations

import hashlib

from daedalus.events import DesignProposed
from daedalus.proposers.base import History, Proposer, Trial
from daedalus.state import IN_FLIGHT, State, Status

PENDING = IN_FLIGHT | {Status.PROPOSED, Status.ACCEPTED, Status.AWAITING_APPROVAL, Status.UNKNOWN}


def derive_seed(seed: int, *parts: object) -> int:
    """A 31-bit seed from the campaign seed and labels: stable across processes and versions."""
    text = ":".join([str(seed), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") >> 1


def experiment_id(index: int) -> str:
    """Experiment ids number designs in proposal order: e0001, e0002, ..., e10000, ...

    Compare positions in `State.experiments` (proposal order), never id strings.
    """
    return f"e{index:04d}"


def history(state: State) -> History:
    """What the proposer may know: valid observations, failures, and designs still pending.

    Rejected readings are left out; trials are in proposal order (the journal's order).
    """
    trials = []
    for exp in list(state.experiments.values()):
        if exp.status is Status.RECORDED:
            trials.append(Trial(exp.id, exp.params, values=exp.values))
        elif exp.status is Status.FAILED:
            trials.append(Trial(exp.id, exp.params, cause=exp.cause))
    pending = [e.params for e in list(state.experiments.values()) if e.status in PENDING]
    return History(trials=trials, pending=pending, n_proposed=len(state.experiments))


def plan(state: State, proposer: Proposer, *, n: int) -> list[DesignProposed]:
    """Ask `proposer` for `n` designs; return them as proposals with fresh experiment ids."""
    if state.problem is None or n < 1:
        return []
    decision = state.decisions
    seed = derive_seed(int(state.settings.get("seed", 0)), "decision", decision)
    designs = proposer.propose(
        state.problem.space, state.problem.goal, history(state), n=n, seed=seed
    )
    first = len(state.experiments) + 1
    return [
        DesignProposed(
            experiment_id=experiment_id(first + i),
            params=params,
            proposer=proposer.name,
            decision=decision,
            seed=seed,
        )
        for i, params in enumerate(designs[:n])
    ]
