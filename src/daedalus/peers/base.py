"""What every peer adapter shares: the live ask/tell session and how it follows the history.

Peers (Ax, Optuna, BayBE) are stateful ask/tell libraries, while a `Proposer` is handed the
whole `History` at every call. A `Tracker` keeps one live `Session` of the peer for a run (the
runtime keeps one proposer instance per run) and tells it only what it has not seen yet:

- a finished trial the session suggested is completed (or failed) on the trial it suggested;
  one it did not suggest (made elsewhere, or before a resume) is attached, then finished;
- a pending design the session does not know is attached as running;
- a suggestion that breaks a linear constraint the peer cannot express (Optuna has none; BayBE
  rounds relaxed integers) is repaired: moved to the nearest point of the constrained box (in
  units of each parameter's range, SLSQP) with integers rounded to the nearest values that keep
  the constraints. The peer's own suggestion is then rejected and the repaired design attached
  as running, so the peer learns the result of the design that actually ran;
- a suggestion that still is not valid, or repeats a known design, is handed back with
  `Session.reject`, and the peer is asked again, up to `MAX_ASKS_PER_DESIGN` per design. A peer
  that has no failure model can be stuck there: Optuna's GP sampler ignores failed trials, so it
  suggests the failed design again and again. Past that limit the rest of the batch is uniform
  random designs (`RandomProposer`, seeded by the call's seed), attached to the session as
  running so the peer learns their results, and `Tracker.fallbacks` counts them.

The session is rebuilt from the full history, with the seed of the current call, whenever the
history does not extend what it was told: a new instance (a resumed campaign), another space or
goal, a finished trial that disappeared, or a suggestion the caller dropped (neither pending nor
finished, say blocked by safety). So the same history and seed always give the same designs from
a fresh session, and a run is reproducible from its campaign seed; a resumed run is not
bit-identical to an uninterrupted one, because the peer's random state is not in the journal.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import math
import random
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Protocol

import numpy as np

from daedalus.errors import InvalidCampaign, InvalidParams
from daedalus.goal import Goal
from daedalus.proposers.base import History, Trial
from daedalus.proposers.sobol import DesignKey, check_batch, design_key, known_keys
from daedalus.space import Choice, Integer, Params, Real, Space, Value

MAX_ASKS_PER_DESIGN = 5
_MAX_ROUNDINGS = 8  # Integers tried at floor and ceiling (2^8 combinations) in a repair
_REPAIR_MARGIN = 1e-7  # relative slack kept inside a linear constraint by a repair
EXTRA = "peers"


class PeerUnavailable(InvalidCampaign, ImportError):
    """A peer optimiser's library is not installed; the message names the extra to install."""


def require(module: str, *, peer: str) -> ModuleType:
    """Import `module` for the peer named `peer`, or raise `PeerUnavailable` naming the extra.

    Raises:
        PeerUnavailable: the library is missing or fails to import.
    """
    try:
        with warnings.catch_warnings():
            # Peer libraries import their own deprecated shims (Ax 1.3 imports
            # ax.service.utils.orchestrator_options, linear_operator uses torch.jit.script):
            # nothing a caller can act on, so it stays quiet, at import time only.
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            return importlib.import_module(module)
    except ImportError as err:
        raise PeerUnavailable(
            f"proposer '{peer}' needs the '{module}' package, which is not installed or fails "
            f"to import ({err}); install the peers extra: pip install 'daedalus[{EXTRA}]'"
        ) from err


class Session(Protocol):
    """One live run of a peer library. Handles are whatever the library names a trial by."""

    def attach(self, params: Params) -> Any:
        """Register a design made elsewhere as running; return its handle."""
        ...

    def finish(self, handle: Any, trial: Trial) -> None:
        """Complete the running trial `handle` with `trial.values`, or fail it (values None)."""
        ...

    def reject(self, handle: Any) -> None:
        """Retire a suggestion that will never run (invalid in the space, or a repeat)."""
        ...

    def ask(self, n: int) -> list[tuple[Any, Mapping[str, Any]]]:
        """Return up to `n` new suggestions as (handle, raw parameters), now running."""
        ...


Start = Callable[[Space, Goal, int], Session]


@dataclass(eq=False)
class Tracker:
    """The live session of one adapter and what it has been told; see the module docstring."""

    peer: str
    session: Session | None = None
    space: Space | None = None
    goal: Goal | None = None
    told: dict[str, DesignKey] = field(default_factory=dict)  # experiment id -> design
    running: dict[DesignKey, Any] = field(default_factory=dict)  # design -> handle
    fallbacks: int = 0  # random designs proposed in place of a stuck peer's, over the run

    def propose(
        self, space: Space, goal: Goal, history: History, *, n: int, seed: int, start: Start
    ) -> list[Params]:
        """Bring the session up to date with `history` and ask it for `n` designs."""
        check_batch(n)
        with seeded(None):
            if self.session is None or not self._extends(space, goal, history):
                self.session, self.space, self.goal = start(space, goal, seed), space, goal
                self.told, self.running = {}, {}
            self._sync(space, history)
            designs = self._ask(space, history, n)
            if len(designs) < n:
                designs += self._fallback(space, goal, history, designs, n=n, seed=seed)
            return designs

    def _extends(self, space: Space, goal: Goal, history: History) -> bool:
        if space != self.space or goal != self.goal:
            return False
        finished = {t.experiment_id: design_key(space, t.params) for t in history.trials}
        if any(finished.get(eid) != key for eid, key in self.told.items()):
            return False
        fresh = {key for eid, key in finished.items() if eid not in self.told}
        live = fresh | {design_key(space, p) for p in history.pending}
        return all(key in live for key in self.running)

    def _sync(self, space: Space, history: History) -> None:
        assert self.session is not None
        for trial in history.trials:
            if trial.experiment_id in self.told:
                continue
            key = design_key(space, trial.params)
            handle = self.running.pop(key, None)
            if handle is None:
                handle = self.session.attach(dict(trial.params))
            self.session.finish(handle, trial)
            self.told[trial.experiment_id] = key
        for params in history.pending:
            key = design_key(space, params)
            if key not in self.running:
                self.running[key] = self.session.attach(dict(params))

    def _ask(self, space: Space, history: History, n: int) -> list[Params]:
        assert self.session is not None
        known = known_keys(space, history) | set(self.running)
        designs: list[Params] = []
        asked = 0
        while len(designs) < n and asked < MAX_ASKS_PER_DESIGN * n:
            suggestions = self.session.ask(n - len(designs))
            if not suggestions:
                break
            for handle, raw in suggestions:
                asked += 1
                params = to_params(space, raw)
                if params is None and (params := repair(space, raw)) is not None:
                    self.session.reject(handle)
                    handle = self.session.attach(params)
                key = None if params is None else design_key(space, params)
                if params is None or key is None or key in known:
                    self.session.reject(handle)
                    continue
                known.add(key)
                self.running[key] = handle
                designs.append(params)
        return designs

    def _fallback(
        self, space: Space, goal: Goal, history: History, made: list[Params], *, n: int, seed: int
    ) -> list[Params]:
        from daedalus.peers.random import RandomProposer

        assert self.session is not None
        busy = History(
            trials=history.trials,
            pending=[*history.pending, *made],
            n_proposed=history.n_proposed + len(made),
        )
        extra = RandomProposer().propose(space, goal, busy, n=n - len(made), seed=seed)
        for params in extra:
            self.running[design_key(space, params)] = self.session.attach(params)
        self.fallbacks += len(extra)
        return extra


def choice_labels(parameter: Choice) -> tuple[str, ...]:
    """String labels of a `Choice`'s options, for peers that take only strings; distinct."""
    labels = tuple(str(option) for option in parameter.options)
    if len(set(labels)) < len(labels):  # e.g. options 1 and "1"
        labels = tuple(f"option_{i}" for i in range(len(labels)))
    return labels


def to_params(space: Space, raw: Mapping[str, Any]) -> Params | None:
    """Map a peer's raw parameters (labels for choices, maybe numpy numbers or floats for
    integers) to a valid design of `space`, or None when they are not one."""
    values: dict[str, Value] = {}
    for p in space.parameters:
        value = raw.get(p.name)
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(p, Choice):
            labels = choice_labels(p)
            if str(value) not in labels:
                return None
            value = p.options[labels.index(str(value))]
        elif isinstance(p, Integer) and isinstance(value, float):
            value = round(value)
        if value is None:
            return None
        values[p.name] = value
    try:
        return space.validate(values)
    except InvalidParams:
        return None


def roundings(space: Space, raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`raw` with each `Integer` at its nearest value, then at the other floor/ceiling
    combinations (nearest first, up to `_MAX_ROUNDINGS` integers), so that a caller can keep the
    first that meets the linear constraints."""
    integers = [p.name for p in space.parameters if isinstance(p, Integer)][:_MAX_ROUNDINGS]
    options = []
    for name in integers:
        value = float(raw[name])
        nearest = round(value)
        other = math.floor(value) + math.ceil(value) - nearest
        options.append((nearest, other) if other != nearest else (nearest,))
    return [
        dict(raw) | dict(zip(integers, combo, strict=True)) for combo in itertools.product(*options)
    ]


def repair(space: Space, raw: Mapping[str, Any]) -> Params | None:
    """The valid design nearest to `raw` (a peer's suggestion that breaks a linear constraint),
    or None: numeric parameters moved to the constrained box by SLSQP, in units of each
    parameter's range, then integers rounded as `roundings` tries them."""
    from scipy.optimize import minimize

    numeric = [p for p in space.parameters if isinstance(p, Real | Integer)]
    if not space.constraints or not numeric:
        return None
    try:
        start = np.array([float(raw[p.name]) for p in numeric])
    except (KeyError, TypeError, ValueError):
        return None
    low = np.array([float(p.low) for p in numeric])
    width = np.array([float(p.high - p.low) for p in numeric])
    index = {p.name: i for i, p in enumerate(numeric)}
    rows = []
    for c in space.constraints:
        row = np.zeros(len(numeric))
        for name, coef in c.coefficients.items():
            row[index[name]] = coef * width[index[name]]
        offset = sum(c.coefficients[n] * low[index[n]] for n in c.coefficients)
        margin = _REPAIR_MARGIN * max(1.0, abs(c.bound))
        rows.append((row, c.bound - offset - margin))
    result = minimize(
        lambda u: float(np.sum((u - (start - low) / width) ** 2)),
        np.clip((start - low) / width, 0.0, 1.0),
        method="SLSQP",
        bounds=[(0.0, 1.0)] * len(numeric),
        constraints=[{"type": "ineq", "fun": lambda u, r=r, b=b: b - r @ u} for r, b in rows],
    )
    moved = dict(raw) | {
        p.name: float(low[i] + result.x[i] * width[i]) for i, p in enumerate(numeric)
    }
    for candidate in roundings(space, moved):
        params = to_params(space, candidate)
        if params is not None:
            return params
    return None


def objective_of(goal: Goal, peer: str) -> tuple[str, bool]:
    """(metric, minimise) of a single-objective goal; peers here run one objective.

    Raises:
        InvalidCampaign: the goal has several objectives.
    """
    if len(goal.objectives) != 1:
        raise InvalidCampaign(
            f"proposer '{peer}' runs single-objective goals here; this goal has "
            f"{len(goal.objectives)} objectives ({goal})"
        )
    objective = goal.primary
    return objective.name, objective.sign < 0


def goal_values(goal: Goal, values: Mapping[str, float]) -> dict[str, float]:
    """The goal's metrics out of an outcome, as floats (extra readings are left out)."""
    return {name: float(values[name]) for name in goal.metrics}


def violations(goal: Goal, values: Mapping[str, float]) -> list[float]:
    """Each outcome constraint as `value - bound` signed so that <= 0 is feasible."""
    return [-c.slack(values) for c in goal.constraints]


@contextlib.contextmanager
def seeded(seed: int | None, *, threads: int | None = 1) -> Iterator[None]:
    """Run a call into a peer library: seed Python's, NumPy's and torch's global generators
    (unless `seed` is None), limit torch and BLAS to `threads` threads, silence the library's
    own deprecation warnings, and restore all of it afterwards.

    Peers draw from the global generators; seeding here makes them deterministic without
    leaking state into the caller. One thread, as `BayesProposer` uses by default, so seconds
    per suggestion compare fairly. Warnings silenced: deprecation and future warnings (the
    libraries call their own deprecated APIs: Ax 1.3 calls `add_tracking_metric`), and the
    numerics warnings of their GP fits (jitter added, an L-BFGS-B stop), which the libraries
    handle themselves and callers cannot act on; see `_peer_warnings`.
    """
    import torch
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    py_state, np_state = random.getstate(), np.random.get_state()
    torch_threads = torch.get_num_threads()
    limits = threadpool_limits(threads) if threads is not None else contextlib.nullcontext()
    try:
        with torch.random.fork_rng(), limits, warnings.catch_warnings():
            for category in _peer_warnings():
                warnings.simplefilter("ignore", category)
            if threads is not None:
                torch.set_num_threads(threads)
            if seed is not None:
                random.seed(seed)
                np.random.seed(seed % 2**32)
                torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(torch_threads)
        random.setstate(py_state)
        np.random.set_state(np_state)


def _peer_warnings() -> list[type[Warning]]:
    from botorch.exceptions.warnings import BotorchWarning
    from linear_operator.utils.warnings import NumericalWarning
    from scipy.optimize import OptimizeWarning

    # OptimizeWarning: Ax's acquisition optimiser passes SLSQP an option (`tol`) that SciPy 1.17
    # names unknown; the solve is unaffected.
    return [DeprecationWarning, FutureWarning, BotorchWarning, NumericalWarning, OptimizeWarning]


def peer_seed(seed: int) -> int:
    """Map any integer seed to one every peer accepts (31 bits)."""
    return int(seed) % 2**31


def linear_terms(space: Space) -> Sequence[tuple[dict[str, float], float]]:
    """The space's linear constraints as (coefficients, bound) of `sum <= bound`."""
    return [(dict(c.coefficients), float(c.bound)) for c in space.constraints]
