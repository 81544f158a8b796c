"""The safety gate: envelope validation, review verdicts, and a fuzz against an oracle."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from daedalus.agents.safety import Envelope, needs_approval, review, violations
from daedalus.errors import InvalidCampaign
from daedalus.events import ApprovalRequested, DesignProposed, ProposalReviewed, Verdict
from daedalus.space import Choice, Integer, Real, Space
from daedalus.state import design_hash
from daedalus.testing import strategies as ds

SPACE = Space(
    [
        Real("temperature_c", 20, 200),
        Integer("equivalents", 1, 10),
        Choice("solvent", ("water", "ethanol")),
    ],
    constraints=["temperature_c + 10*equivalents <= 250"],
)
ENVELOPE = Envelope(
    limits={"temperature_c": (None, 150), "equivalents": (2, None)},
    forbidden=[
        "temperature_c > 120 and equivalents > 6",
        "solvent == 'ethanol' and temperature_c > 78",
    ],
    approval=["temperature_c > 100"],
    approval_ttl_s=60.0,
)
SAFE = {"temperature_c": 60.0, "equivalents": 3, "solvent": "water"}


def _proposal(params: Any, eid: str = "e0001") -> DesignProposed:
    return DesignProposed(experiment_id=eid, params=params, proposer="fuzz", decision=0, seed=0)


# --- envelope validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"max_concurrent": 0}, "max_concurrent must be an integer >= 1, got 0"),
        ({"max_concurrent": True}, "max_concurrent must be an integer >= 1, got True"),
        ({"max_concurrent": 1.5}, "got 1.5"),
        ({"approval_ttl_s": 0}, "approval_ttl_s must be a positive number, got 0"),
        ({"approval_ttl_s": -5.0}, "got -5.0"),
        ({"approval_ttl_s": math.nan}, "got nan"),
        ({"approval_ttl_s": "1h"}, "got '1h'"),
        ({"limits": {"t": (1, 2, 3)}}, "safety.limits.t must be [low, high], got (1, 2, 3)"),
        ({"limits": {"t": 5}}, "safety.limits.t must be [low, high], got 5"),
        ({"forbidden": ["__import__('os').system('x')"]}, "safety rule"),
        ({"approval": ["t.real > 0"]}, "unsupported syntax"),
        ({"forbidden": ["t >"]}, "cannot parse"),
    ],
)
def test_envelope_refuses_bad_settings(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidCampaign) as info:
        Envelope(**kwargs)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    "pair", [(math.nan, 150), (None, math.nan), ("a", "b"), "ab", (150, 20), (True, None)]
)
def test_envelope_refuses_limits_that_are_not_finite_ordered_numbers(pair: Any) -> None:
    with pytest.raises(InvalidCampaign, match="temperature_c"):
        Envelope(limits={"temperature_c": pair})


def test_envelope_from_dict_round_trips_and_refuses_unknown_keys() -> None:
    assert Envelope.from_dict(ENVELOPE.to_dict()).to_dict() == ENVELOPE.to_dict()
    assert Envelope.from_dict({}) == Envelope()
    with pytest.raises(InvalidCampaign, match=r"unknown keys \['limit'\]"):
        Envelope.from_dict({"limit": {}})


@pytest.mark.parametrize(
    ("envelope", "fragment"),
    [
        (
            Envelope(limits={"pressure_bar": (0, 5)}),
            "safety.limits names unknown parameter 'pressure_bar'",
        ),
        (Envelope(limits={"solvent": (0, 1)}), "safety.limits.solvent: 'solvent' is categorical"),
        (Envelope(forbidden=["pressure_bar > 1"]), "names unknown parameters ['pressure_bar']"),
        (Envelope(approval=["a > 1 or temperature_c > b"]), "unknown parameters ['a', 'b']"),
    ],
)
def test_check_space_refuses_unknown_names(envelope: Envelope, fragment: str) -> None:
    with pytest.raises(InvalidCampaign) as info:
        envelope.check_space(SPACE)
    assert fragment in str(info.value)
    if "unknown" in fragment:
        assert "known: ['equivalents', 'solvent', 'temperature_c']" in str(info.value)


def test_check_space_accepts_a_matching_envelope() -> None:
    ENVELOPE.check_space(SPACE)


# --- review --------------------------------------------------------------------------------------


def test_review_accepts_a_safe_design() -> None:
    assert violations(ENVELOPE, SPACE, SAFE) == []
    assert review(ENVELOPE, SPACE, _proposal(SAFE), now_unix=1000.0) == [
        ProposalReviewed(experiment_id="e0001", verdict=Verdict.ACCEPT)
    ]


@pytest.mark.parametrize(
    ("params", "reasons"),
    [
        (
            {**SAFE, "temperature_c": 160.0},
            ["temperature_c=160 outside the hard limit [None, 150]"],
        ),
        ({**SAFE, "equivalents": 1}, ["equivalents=1 outside the hard limit [2, None]"]),
        (
            {**SAFE, "temperature_c": 130.0, "equivalents": 7},
            ["in the forbidden region 'temperature_c > 120 and equivalents > 6'"],
        ),
        (
            {**SAFE, "temperature_c": 160.0, "solvent": "ethanol", "equivalents": 8},
            [
                "temperature_c=160 outside the hard limit [None, 150]",
                "in the forbidden region 'temperature_c > 120 and equivalents > 6'",
                "in the forbidden region \"solvent == 'ethanol' and temperature_c > 78\"",
            ],
        ),
        ({**SAFE, "temperature_c": 250.0}, ["outside the design space: temperature_c=250.0"]),
        (
            {**SAFE, "temperature_c": 180.0, "equivalents": 8},
            ["outside the design space: design", "violates linear constraints"],
        ),
        ({**SAFE, "temperature_c": math.nan}, ["outside the design space: temperature_c=nan"]),
        ({"temperature_c": 60.0}, ["missing ['equivalents', 'solvent']"]),
        ({**SAFE, "catalyst": "pd"}, ["unknown ['catalyst']"]),
    ],
)
def test_review_blocks_with_every_reason(params: dict[str, Any], reasons: list[str]) -> None:
    found = violations(ENVELOPE, SPACE, params)
    assert len(found) == (len(reasons) if "outside the design space" not in reasons[0] else 1)
    for fragment in reasons:
        assert any(fragment in r for r in found), (fragment, found)
    (verdict,) = review(ENVELOPE, SPACE, _proposal(params), now_unix=0.0)
    assert verdict == ProposalReviewed(experiment_id="e0001", verdict=Verdict.BLOCK, reasons=found)


def test_review_sends_a_hot_design_to_a_person_bound_to_its_hash() -> None:
    params = {**SAFE, "temperature_c": 110.0}
    reviewed, requested = review(ENVELOPE, SPACE, _proposal(params, "e0042"), now_unix=1000.0)
    reason = "matches the approval rule 'temperature_c > 100'"
    assert reviewed == ProposalReviewed(
        experiment_id="e0042", verdict=Verdict.NEEDS_APPROVAL, reasons=[reason]
    )
    assert requested == ApprovalRequested(
        experiment_id="e0042", design_hash=design_hash(params), reason=reason, expires_at=1060.0
    )


def test_a_limit_on_the_edge_is_inside() -> None:
    assert violations(ENVELOPE, SPACE, {**SAFE, "temperature_c": 75.0, "equivalents": 2}) == []
    edge = Envelope(limits={"temperature_c": (20, 150)})
    assert violations(edge, SPACE, {**SAFE, "temperature_c": 150}) == []


@pytest.mark.parametrize("rule", ["temperature_c / (equivalents - 3) > 1", "missing_name > 1"])
def test_a_rule_that_cannot_be_evaluated_fails_closed(rule: str) -> None:
    envelope = Envelope(forbidden=[rule], approval=[rule])
    assert violations(envelope, SPACE, SAFE) == [f"in the forbidden region {rule!r}"]
    assert needs_approval(envelope, SAFE) == [f"matches the approval rule {rule!r}"]


# --- fuzz against an independent oracle ----------------------------------------------------------


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def oracle(params: Any) -> tuple[bool, bool]:
    """(may run, needs a person) for SPACE and ENVELOPE, written without daedalus."""
    names = {"temperature_c", "equivalents", "solvent"}
    if not isinstance(params, dict) or set(params) != names:
        return False, False
    t, n, s = params["temperature_c"], params["equivalents"], params["solvent"]
    if not _number(t) or not math.isfinite(t) or not 20 <= t <= 200:
        return False, False
    if isinstance(n, float) and n.is_integer():
        n = int(n)
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 10:
        return False, False
    if not isinstance(s, str) or s not in ("water", "ethanol"):
        return False, False
    if t + 10 * n > 250 + 1e-9 * 250:  # the space's linear tolerance
        return False, False
    if t > 150 or n < 2:  # hard limits
        return False, False
    if (t > 120 and n > 6) or (s == "ethanol" and t > 78):  # forbidden regions
        return False, False
    return True, t > 100


ODD = st.sampled_from(
    [
        math.nan,
        math.inf,
        -math.inf,
        None,
        True,
        False,
        "60",
        [60],
        {"v": 1},
        -1e300,
        1e300,
        2**60,
        -0.0,
        19.999999,
        200.000001,
        10.5,
        11,
    ]
)
NEAR = {
    "temperature_c": st.floats(15, 205)
    | st.sampled_from([20, 78, 78.0001, 100, 100.0001, 120, 150, 150.0001, 200]),
    "equivalents": st.integers(-1, 12) | st.sampled_from([2.0, 6.0, 6.5]),
    "solvent": st.sampled_from(["water", "ethanol", "Water", ""]),
}
INSIDE = {
    "temperature_c": st.floats(20, 150),
    "equivalents": st.integers(2, 10),
    "solvent": st.sampled_from(["water", "ethanol"]),
}


@st.composite
def broken(draw: st.DrawFn) -> Any:
    """A design near every boundary, then broken: odd values, keys missing or extra."""
    params: dict[Any, Any] = draw(st.fixed_dictionaries(NEAR))
    for name in draw(st.lists(st.sampled_from(sorted(NEAR)), max_size=2, unique=True)):
        params[name] = draw(ODD)
    if draw(st.integers(0, 4)) == 0:
        del params[draw(st.sampled_from(sorted(params)))]
    if draw(st.integers(0, 4)) == 0:
        params[draw(st.sampled_from(["pressure_bar", 1, ("t",), "__class__"]))] = 1.0
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from([None, "temperature_c", [("temperature_c", 60.0)], 60.0]))
    return params


adversarial = st.one_of(st.fixed_dictionaries(INSIDE), st.fixed_dictionaries(NEAR), broken())


@settings(max_examples=400, deadline=None)
@given(adversarial)
def test_nothing_outside_the_envelope_is_accepted(params: Any) -> None:
    may_run, ask = oracle(params)
    found = violations(ENVELOPE, SPACE, params)
    assert (found == []) is may_run, (params, found)
    verdicts = review(ENVELOPE, SPACE, _proposal(params), now_unix=0.0)
    event(str(verdicts[0].verdict))
    if found:
        assert [v.verdict for v in verdicts] == [Verdict.BLOCK], (params, verdicts)
        assert verdicts[0].reasons == found
    else:
        expected = Verdict.NEEDS_APPROVAL if ask else Verdict.ACCEPT
        assert verdicts[0].verdict is expected, (params, verdicts)
        assert len(verdicts) == (2 if ask else 1)


@settings(max_examples=60, deadline=None)
@given(ds.spaces(kinds=("real", "integer"), max_size=3), st.data())
def test_designs_inside_random_limits_pass_and_outside_fail(space: Space, data: Any) -> None:
    params = data.draw(ds.points(space))
    limits = {}
    for p in space.parameters:
        assert isinstance(p, Real | Integer)
        low = data.draw(st.none() | st.floats(p.low, p.high))
        high = data.draw(st.none() | st.floats(p.low if low is None else low, p.high))
        limits[p.name] = (low, high)
    envelope = Envelope(limits=limits)
    inside = all(
        (low is None or params[name] >= low) and (high is None or params[name] <= high)
        for name, (low, high) in limits.items()
    )
    assert (violations(envelope, space, params) == []) is inside


def test_an_int_too_large_for_a_float_is_blocked_not_a_crash() -> None:
    found = violations(ENVELOPE, SPACE, {**SAFE, "temperature_c": 10**400})
    assert found and "outside the design space" in found[0]
