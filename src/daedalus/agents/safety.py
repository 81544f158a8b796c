"""The safety agent: a deterministic gate between proposals and machines.

A campaign's `Envelope` holds hard limits per parameter (may be tighter than the space),
forbidden regions written as expressions, the rules that send a design to a person, and the
maximum number of concurrent experiments per machine. `review` judges a proposal once; `admit`
is asked again by the operator right before dispatch, so nothing outside the envelope runs even
if a proposal was forged or the envelope tightened since.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from daedalus.errors import InvalidCampaign, InvalidParams
from daedalus.events import ApprovalRequested, DesignProposed, ProposalReviewed, Verdict
from daedalus.expressions import ExpressionError, Predicate, parse_predicate
from daedalus.space import Choice, Space, Value
from daedalus.state import Experiment, design_hash


@dataclass(frozen=True, slots=True)
class Envelope:
    """What may run. Build with keywords or `Envelope.from_dict` (campaign files).

    Args:
        limits: `{name: (low, high)}` hard limits; either side may be None.
        forbidden: expressions over parameter names; a design where one holds is blocked.
        approval: expressions; a design where one holds waits for a person.
        max_concurrent: experiments one machine may run at once.
        approval_ttl_s: how long an approval request stays open.
    """

    limits: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)
    forbidden: Sequence[str] = ()
    approval: Sequence[str] = ()
    max_concurrent: int = 1
    approval_ttl_s: float = 24 * 3600.0

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_concurrent, bool)
            or not isinstance(self.max_concurrent, int)
            or (self.max_concurrent < 1)
        ):
            raise InvalidCampaign(
                f"safety.max_concurrent must be an integer >= 1, got {self.max_concurrent!r}"
            )
        if not (isinstance(self.approval_ttl_s, int | float) and self.approval_ttl_s > 0):
            raise InvalidCampaign(
                f"safety.approval_ttl_s must be a positive number, got {self.approval_ttl_s!r}"
            )
        for name, pair in self.limits.items():
            _check_limit(name, pair)
        for text in (*self.forbidden, *self.approval):
            _compile(text)

    def check_space(self, space: Space) -> None:
        """Raise `InvalidCampaign` when the envelope names a parameter the space lacks."""
        known = set(space.names)
        for name in self.limits:
            if name not in known:
                raise InvalidCampaign(
                    f"safety.limits names unknown parameter {name!r}; known: {sorted(known)}"
                )
            if isinstance(space[name], Choice):
                raise InvalidCampaign(f"safety.limits.{name}: {name!r} is categorical")
        for text in (*self.forbidden, *self.approval):
            unknown = _compile(text).names - known
            if unknown:
                raise InvalidCampaign(
                    f"safety rule {text!r} names unknown parameters {sorted(unknown)}; "
                    f"known: {sorted(known)}"
                )

    def to_dict(self) -> dict[str, Any]:
        return {
            "limits": {k: list(v) for k, v in self.limits.items()},
            "forbidden": list(self.forbidden),
            "approval": list(self.approval),
            "max_concurrent": self.max_concurrent,
            "approval_ttl_s": self.approval_ttl_s,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Envelope:
        known = {"limits", "forbidden", "approval", "max_concurrent", "approval_ttl_s"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidCampaign(
                f"safety: unknown keys {unknown}; expected some of {sorted(known)}"
            )
        limits = {
            k: (v[0], v[1]) if isinstance(v, Sequence) and len(v) == 2 else v
            for k, v in dict(data.get("limits", {})).items()
        }
        return cls(
            limits=limits,
            forbidden=tuple(data.get("forbidden", ())),
            approval=tuple(data.get("approval", ())),
            max_concurrent=data.get("max_concurrent", 1),
            approval_ttl_s=data.get("approval_ttl_s", 24 * 3600.0),
        )


def _check_limit(name: str, pair: object) -> None:
    """A limit is `[low, high]` of finite numbers or None, with low <= high: never fail open."""
    if not (isinstance(pair, Sequence) and not isinstance(pair, str) and len(pair) == 2):
        raise InvalidCampaign(f"safety.limits.{name} must be [low, high], got {pair!r}")
    for side in pair:
        number = isinstance(side, int | float) and not isinstance(side, bool)
        if side is not None and not (number and math.isfinite(side)):
            raise InvalidCampaign(
                f"safety.limits.{name}: each side must be a finite number or null, got {side!r}"
            )
    low, high = pair
    if low is not None and high is not None and low > high:
        raise InvalidCampaign(f"safety.limits.{name}: low <= high must hold, got {low} > {high}")


def _compile(text: str) -> Predicate:
    try:
        return parse_predicate(text)
    except ExpressionError as err:
        raise InvalidCampaign(f"safety rule {text!r}: {err}") from err


def violations(envelope: Envelope, space: Space, params: Mapping[str, Value]) -> list[str]:
    """Every reason `params` may not run; empty when it may."""
    try:
        clean = space.validate(params)
    except InvalidParams as err:
        return [f"outside the design space: {err}"]
    reasons = []
    for name, (low, high) in envelope.limits.items():
        value = float(clean[name])
        if (
            not math.isfinite(value)
            or (low is not None and value < low)
            or (high is not None and value > high)
        ):
            reasons.append(f"{name}={value:g} outside the hard limit [{low}, {high}]")
    for text in envelope.forbidden:
        if _holds(text, clean):
            reasons.append(f"in the forbidden region {text!r}")
    return reasons


def _holds(text: str, params: Mapping[str, Value]) -> bool:
    try:
        return _compile(text)(params)
    except (ExpressionError, KeyError, ZeroDivisionError):
        return True  # a rule that cannot be evaluated fails closed


def needs_approval(envelope: Envelope, params: Mapping[str, Value]) -> list[str]:
    return [f"matches the approval rule {t!r}" for t in envelope.approval if _holds(t, params)]


def admit(envelope: Envelope, space: Space, exp: Experiment) -> list[str]:
    """The operator's last check before dispatch: every reason `exp` may not run now."""
    reasons = violations(envelope, space, exp.params)
    if exp.approval != "granted":
        reasons += [
            f"{r}, without a person's approval" for r in needs_approval(envelope, exp.params)
        ]
    return reasons


def review(
    envelope: Envelope, space: Space, proposal: DesignProposed, *, now_unix: float
) -> list[ProposalReviewed | ApprovalRequested]:
    """Judge one proposal: accept, block (with every reason), or ask a person."""
    return review_design(
        envelope, space, proposal.experiment_id, proposal.params, now_unix=now_unix
    )


def review_design(
    envelope: Envelope,
    space: Space,
    experiment_id: str,
    params: Mapping[str, Value],
    *,
    now_unix: float,
) -> list[ProposalReviewed | ApprovalRequested]:
    """`review` for a design known by id and params (recovery re-reviews these)."""
    eid = experiment_id
    blocked = violations(envelope, space, params)
    if blocked:
        return [ProposalReviewed(experiment_id=eid, verdict=Verdict.BLOCK, reasons=blocked)]
    ask = needs_approval(envelope, params)
    if ask:
        return [
            ProposalReviewed(experiment_id=eid, verdict=Verdict.NEEDS_APPROVAL, reasons=ask),
            ApprovalRequested(
                experiment_id=eid,
                design_hash=design_hash(params),
                reason="; ".join(ask),
                expires_at=now_unix + envelope.approval_ttl_s,
            ),
        ]
    return [ProposalReviewed(experiment_id=eid, verdict=Verdict.ACCEPT)]
