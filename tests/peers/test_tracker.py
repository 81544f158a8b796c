"""How a peer's live session follows the history: `daedalus.peers.base.Tracker`, on a fake.

`_FakeSession` is a fake peer, not a library: the `Session` protocol plus lists of what it was
told, suggesting fixed points of a one-parameter space in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from daedalus.goal import Goal, Minimize
from daedalus.peers.base import Tracker, repair, roundings, to_params
from daedalus.proposers.base import History, Trial
from daedalus.space import Choice, Integer, Params, Real, Space

SPACE = Space([Real("x", 0.0, 1.0)])
GOAL = Goal(Minimize("loss"))


class _FakeSession:
    starts: ClassVar[list[int]] = []

    def __init__(self, space: Space, goal: Goal, seed: int) -> None:
        _FakeSession.starts.append(seed)
        self.next = 0
        self.attached: list[Params] = []
        self.finished: list[tuple[Any, bool]] = []
        self.rejected: list[Any] = []
        self.points = [0.1 * (i + 1) for i in range(9)]

    def attach(self, params: Params) -> Any:
        self.attached.append(params)
        return ("attached", len(self.attached))

    def finish(self, handle: Any, trial: Trial) -> None:
        self.finished.append((handle, trial.values is not None))

    def reject(self, handle: Any) -> None:
        self.rejected.append(handle)

    def ask(self, n: int) -> list[tuple[Any, Mapping[str, Any]]]:
        out = []
        for _ in range(n):
            out.append((("asked", self.next), {"x": self.points[self.next % len(self.points)]}))
            self.next += 1
        return out


@pytest.fixture(autouse=True)
def _fresh_starts() -> None:
    _FakeSession.starts = []


def _propose(tracker: Tracker, history: History, *, n: int = 1, seed: int = 7) -> list[Params]:
    return tracker.propose(SPACE, GOAL, history, n=n, seed=seed, start=_FakeSession)


def test_tells_only_new_trials_on_the_handle_that_suggested_them() -> None:
    tracker = Tracker("fake")
    first = _propose(tracker, History())
    trials = [Trial("e1", first[0], {"loss": 1.0})]
    second = _propose(tracker, History(trials=trials, n_proposed=1))
    trials.append(Trial("e2", second[0], None, cause="infeasible"))
    _propose(tracker, History(trials=trials, n_proposed=2))
    session = tracker.session
    assert isinstance(session, _FakeSession)
    assert _FakeSession.starts == [7]  # one live session for the whole run
    assert session.finished == [(("asked", 0), True), (("asked", 1), False)]
    assert session.attached == []


def test_rebuilds_from_the_full_history_for_a_new_instance() -> None:
    trials = [Trial("e1", {"x": 0.5}, {"loss": 1.0}), Trial("e2", {"x": 0.6}, None)]
    tracker = Tracker("fake")
    _propose(tracker, History(trials=trials, pending=[{"x": 0.7}], n_proposed=3), seed=11)
    session = tracker.session
    assert isinstance(session, _FakeSession)
    assert _FakeSession.starts == [11]
    assert session.attached == [{"x": 0.5}, {"x": 0.6}, {"x": 0.7}]
    assert [ok for _, ok in session.finished] == [True, False]


def test_rebuilds_when_the_caller_dropped_a_suggestion() -> None:
    tracker = Tracker("fake")
    history = History(trials=[Trial("e1", {"x": 0.95}, {"loss": 1.0})], n_proposed=1)
    first = _propose(tracker, history)
    # Same history again: the first suggestion was neither run nor kept pending.
    again = _propose(tracker, history)
    assert first == again
    assert _FakeSession.starts == [7, 7]


def test_keeps_the_session_while_a_suggestion_is_pending() -> None:
    tracker = Tracker("fake")
    first = _propose(tracker, History())
    second = _propose(tracker, History(pending=first, n_proposed=1))
    assert second != first
    assert _FakeSession.starts == [7]


def test_rejects_repeats_and_asks_again() -> None:
    tracker = Tracker("fake")
    known = [Trial("e1", {"x": 0.1}, {"loss": 1.0})]
    designs = _propose(tracker, History(trials=known, n_proposed=1))
    session = tracker.session
    assert isinstance(session, _FakeSession)
    assert designs == [{"x": 0.2}]
    assert session.rejected == [("asked", 0)]


def test_falls_back_to_random_designs_when_the_peer_is_stuck() -> None:
    # Every point the fake suggests is known: a peer that keeps repeating a failed design.
    known = [Trial(f"e{i}", {"x": 0.1 * (i + 1)}, None, cause="infeasible") for i in range(9)]
    tracker = Tracker("fake")
    designs = _propose(tracker, History(trials=known, n_proposed=9), n=2)
    session = tracker.session
    assert isinstance(session, _FakeSession)
    assert len(designs) == 2 and tracker.fallbacks == 2
    assert all(SPACE.contains(d) and d not in [t.params for t in known] for d in designs)
    assert session.attached[-2:] == designs  # the peer learns what actually runs


def test_to_params_maps_labels_and_rounds_integers() -> None:
    space = Space([Integer("stages", 1, 5), Choice("solvent", ("water", 1, "1"))])
    assert to_params(space, {"stages": 2.6, "solvent": "option_1"}) == {
        "stages": 3,
        "solvent": 1,
    }
    assert to_params(space, {"stages": 9, "solvent": "option_0"}) is None


def test_roundings_try_the_nearest_integers_first() -> None:
    space = Space([Integer("a", 0, 9), Integer("b", 0, 9)])
    assert roundings(space, {"a": 1.4, "b": 2.0}) == [{"a": 1, "b": 2}, {"a": 2, "b": 2}]


def test_repair_moves_a_design_just_inside_the_linear_constraints() -> None:
    space = Space(
        [Integer("shell", 1, 99), Real("radius", 10.0, 200.0)],
        constraints=["0.0193*radius - 0.0625*shell <= 0"],
    )
    raw = {"shell": 13, "radius": 45.0}  # 0.0193 * 45 > 0.8125
    fixed = repair(space, raw)
    assert fixed is not None and space.contains(fixed)
    assert fixed["shell"] in (13, 14)
    assert fixed["radius"] == pytest.approx(42.1, abs=1.0) or fixed["shell"] == 14
    assert repair(Space([Real("x", 0.0, 1.0)]), {"x": 2.0}) is None  # nothing linear to repair
