"""Proposers: strategies that suggest the next designs from everything seen so far.

`make_proposer("bayes", n_init=8)` builds one by name, as a campaign file names it. BoTorch is
imported only when a `BayesProposer` is first used, so importing this package stays cheap.
The peer optimisers of `daedalus.peers` (`ax`, `optuna-tpe`, `optuna-gp`, `baybe`, `random`)
are built by name too; their libraries come with the `peers` extra and are imported only then.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import TYPE_CHECKING, Any

from daedalus.errors import InvalidCampaign
from daedalus.proposers.base import History, Proposer, Trial
from daedalus.proposers.sobol import SobolProposer

if TYPE_CHECKING:
    from daedalus.proposers.bayes import BayesProposer

__all__ = ["BayesProposer", "History", "Proposer", "SobolProposer", "Trial", "make_proposer"]

_KNOWN: dict[str, tuple[str, str]] = {
    "bayes": ("daedalus.proposers.bayes", "BayesProposer"),
    "sobol": ("daedalus.proposers.sobol", "SobolProposer"),
}


def __getattr__(name: str) -> Any:
    if name == "BayesProposer":
        return _proposer_class("bayes")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _peers() -> dict[str, tuple[str, str, str | None]]:
    # Imported here, not at the top: daedalus.peers builds on this package.
    peers: dict[str, tuple[str, str, str | None]] = importlib.import_module("daedalus.peers").PEERS
    return peers


def _proposer_class(name: str) -> Any:
    module, attribute = _KNOWN[name] if name in _KNOWN else _peers()[name][:2]
    return getattr(importlib.import_module(module), attribute)


def make_proposer(name: str, **options: Any) -> Proposer:
    """Return the proposer registered as `name`, built with keyword `options`.

    Raises:
        InvalidCampaign: `name` is not a known proposer, or an option is unknown or invalid.
        daedalus.peers.PeerUnavailable: `name` is a peer whose library is not installed (also an
            `InvalidCampaign`).
    """
    if name not in _KNOWN and name not in _peers():
        raise InvalidCampaign(
            f"unknown proposer {name!r}; known proposers: {sorted(_KNOWN)}; peers, with "
            f"pip install 'daedalus[peers]': {sorted(_peers())}"
        )
    cls = _proposer_class(name)
    accepted = sorted(f.name for f in dataclasses.fields(cls) if f.init)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise InvalidCampaign(
            f"proposer '{name}': unknown options {unknown}; it accepts {accepted}"
        )
    proposer: Proposer = cls(**options)
    return proposer
