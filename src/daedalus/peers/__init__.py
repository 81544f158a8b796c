"""Peer optimisers for benchmarks: other libraries' optimisers behind our `Proposer` protocol.

One small module per peer, each a class that satisfies `daedalus.proposers.Proposer` and runs in
the same ask/tell loop as ours, so every benchmark run sees the same problems, seeds, budgets
and noise, and the time spent inside the library is measured the same way:

| name         | class                | library (the `peers` extra)                         |
|--------------|----------------------|-----------------------------------------------------|
| `ax`         | `AxProposer`         | Ax's default generation strategy, `ax.Client`        |
| `optuna-tpe` | `OptunaTPEProposer`  | Optuna's `TPESampler`                                |
| `optuna-gp`  | `OptunaGPProposer`   | Optuna's `GPSampler`                                 |
| `baybe`      | `BaybeProposer`      | BayBE's default `TwoPhaseMetaRecommender`            |
| `random`     | `RandomProposer`     | none: uniform random search                          |

`make_proposer("ax")` builds one by name. Nothing here imports a peer library until a proposer
is built; a missing library raises `PeerUnavailable` (an `InvalidCampaign` and an `ImportError`)
naming the extra: `pip install 'daedalus[peers]'`.
"""

from __future__ import annotations

import importlib.metadata

from daedalus.peers.base import PeerUnavailable

__all__ = ["PEERS", "PeerUnavailable", "peer_versions"]

# name -> (module, class, distribution it needs or None)
PEERS: dict[str, tuple[str, str, str | None]] = {
    "ax": ("daedalus.peers.ax", "AxProposer", "ax-platform"),
    "baybe": ("daedalus.peers.baybe", "BaybeProposer", "baybe"),
    "optuna-gp": ("daedalus.peers.optuna", "OptunaGPProposer", "optuna"),
    "optuna-tpe": ("daedalus.peers.optuna", "OptunaTPEProposer", "optuna"),
    "random": ("daedalus.peers.random", "RandomProposer", None),
}


def peer_versions() -> dict[str, str | None]:
    """Installed version of each peer's library (None when missing), by distribution name."""
    out: dict[str, str | None] = {}
    for _, _, dist in PEERS.values():
        if dist is None or dist in out:
            continue
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    return out
