"""Proposers: strategies that suggest the next designs from everything seen so far.

`make_proposer("bayes", n_init=8)` builds one by name, as a campaign file names it. BoTorch is
imported only when a `BayesProposer` is first used, so importing this package stays cheap.
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


def _proposer_class(name: str) -> Any:
    module, attribute = _KNOWN[name]
    return getattr(importlib.import_module(module), attribute)


def make_proposer(name: str, **options: Any) -> Proposer:
    """Return the proposer registered as `name`, built with keyword `options`.

    Raises:
        InvalidCampaign: `name` is not a known proposer, or an option is unknown or invalid.
    """
    if name not in _KNOWN:
        raise InvalidCampaign(f"unknown proposer {name!r}; known proposers: {sorted(_KNOWN)}")
    cls = _proposer_class(name)
    accepted = sorted(f.name for f in dataclasses.fields(cls) if f.init)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise InvalidCampaign(
            f"proposer '{name}': unknown options {unknown}; it accepts {accepted}"
        )
    proposer: Proposer = cls(**options)
    return proposer
