"""The event codec: every type round-trips through standard JSON; damage is `JournalCorrupt`."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daedalus import events as ev
from daedalus.errors import JournalCorrupt
from daedalus.testing import strategies as ds

# One instance per type with every field set, optional ones included.
SAMPLES: dict[str, Any] = {
    e.type: e
    for e in [
        ev.CampaignCreated(name="c", problem={"space": {"parameters": []}}, settings={"budget": 3}),
        ev.RuntimeStarted(runtime_id="host:1:ab", token=2),
        ev.RecoveryStarted(in_flight=["e0001", "e0002"]),
        ev.RecoveryCompleted(findings={"e0001": "finished"}),
        ev.AppendRefused(role="planner", actor_id="p", event_type="command.intended", reason="no"),
        ev.DesignProposed(
            experiment_id="e0001",
            params={"x": 0.5, "c": "a", "n": 2},
            proposer="sobol",
            decision=0,
            seed=7,
            proposer_s=0.25,
            proposer_cpu_s=0.125,
            control=True,
            repeat_of="e0000",
        ),
        ev.NoteWritten(text="hello", experiment_id="e0001"),
        ev.ProposalReviewed(
            experiment_id="e0001", verdict=ev.Verdict.NEEDS_APPROVAL, reasons=["hot", "fast"]
        ),
        ev.ApprovalRequested(experiment_id="e0001", design_hash="ab", reason="hot", expires_at=1e9),
        ev.MachinePaused(machine="m1", reason="unknown outcome"),
        ev.CommandIntended(experiment_id="e0001", machine="m1", attempt=1, seed=3),
        ev.CommandDispatched(experiment_id="e0001", machine="m1", attempt=1, started_at=2.5),
        ev.ObservationRecorded(experiment_id="e0001", values={"y": 1.5}, duration_s=3.0, attempt=2),
        ev.ExperimentFailed(
            experiment_id="e0001",
            cause=ev.Cause.TIMEOUT,
            reason="slow",
            attempt=1,
            retry=True,
            duration_s=9.5,
        ),
        ev.OutcomeUnknown(experiment_id="e0001", machine="m1", reason="lost"),
        ev.Reconciled(experiment_id="e0001", machine="m1", finding="not_started"),
        ev.ModelTrained(n_observations=4, summary={"lengthscale": [0.1, 0.2], "ok": True}),
        ev.ObservationRejected(experiment_id="e0001", reason="NaN"),
        ev.DriftDetected(
            metric="yield_frac",
            test="self-starting CUSUM",
            control_ids=["e0001", "e0007"],
            readings=[0.5, 0.4],
            statistic=5.5,
            threshold=5.0,
            direction="down",
            change_point_id="e0007",
            shift=-0.1,
            relative_shift=-0.2,
        ),
        ev.OutlierSuspected(
            experiment_id="e0001",
            metric="yield_frac",
            test="leave-one-out GP residual",
            value=0.9,
            prediction=0.5,
            sd=0.05,
            score=8.0,
            threshold=4.0,
            remeasure=True,
        ),
        ev.OutlierResolved(
            experiment_id="e0001", ruling="rejected", reason="repeat disagrees", repeat_id="e0002"
        ),
        ev.CampaignCompleted(reason="budget spent", best_experiment_id="e0001"),
        ev.ApprovalGranted(experiment_id="e0001", design_hash="ab", by="ada"),
        ev.ApprovalDenied(experiment_id="e0001", design_hash="ab", by="ada", reason="too hot"),
        ev.CampaignPaused(reason="lunch"),
        ev.CampaignResumed(),
        ev.CampaignAborted(reason="fire"),
        ev.MachineResumed(machine="m1"),
        ev.OutcomeResolved(experiment_id="e0001", resolution=ev.Resolution.FAILED, by="ada"),
    ]
}


def _normal(value: Any) -> Any:
    """Sequences as lists, mappings as dicts: what a round trip through JSON may change."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normal(v) for v in value]
    return value


def _round_trip(event: Any) -> Any:
    text = json.dumps(ev.to_payload(event), allow_nan=False)
    return ev.from_payload(event.type, event.version, json.loads(text))


def test_samples_cover_every_event_type() -> None:
    assert set(SAMPLES) == set(ev.EVENT_TYPES)
    for event_type, cls in ev.EVENT_TYPES.items():
        assert cls.type == event_type  # type: ignore[attr-defined]
        assert isinstance(cls.version, int) and cls.version >= 1  # type: ignore[attr-defined]


def test_every_role_has_permissions_for_known_types_only() -> None:
    assert set(ev.PERMISSIONS) == set(ev.Role)
    for types in ev.PERMISSIONS.values():
        assert types <= set(ev.EVENT_TYPES)
    written = set().union(*ev.PERMISSIONS.values())
    assert written == set(ev.EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_sample_round_trips_through_standard_json(event_type: str) -> None:
    event = SAMPLES[event_type]
    again = _round_trip(event)
    assert type(again) is type(event)
    for f in dataclasses.fields(event):
        assert _normal(getattr(again, f.name)) == _normal(getattr(event, f.name)), f.name
    assert ev.to_payload(again) == ev.to_payload(event)


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_events_are_frozen(event_type: str) -> None:
    event = SAMPLES[event_type]
    name = dataclasses.fields(event)[0].name if dataclasses.fields(event) else "type"
    with pytest.raises((dataclasses.FrozenInstanceError, AttributeError, TypeError)):
        setattr(event, name, "changed")


@pytest.mark.parametrize("event_type", sorted(ev.EVENT_TYPES))
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_random_events_round_trip(event_type: str, data: Any) -> None:
    event = data.draw(ds.events(event_type))
    payload = ev.to_payload(event)
    again = _round_trip(event)
    assert type(again) is type(event)
    # Compared as payloads: NaN != NaN, but its stored form {"__float__": "nan"} is equal.
    assert ev.to_payload(again) == payload


def test_enums_come_back_as_enums() -> None:
    reviewed = _round_trip(SAMPLES["proposal.reviewed"])
    failed = _round_trip(SAMPLES["experiment.failed"])
    assert reviewed.verdict is ev.Verdict.NEEDS_APPROVAL
    assert failed.cause is ev.Cause.TIMEOUT


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_round_trip(value: float) -> None:
    event = ev.ObservationRecorded(
        experiment_id="e1", values={"y": value, "z": 1.0}, duration_s=value
    )
    payload = ev.to_payload(event)
    assert payload["values"]["y"] == {"__float__": repr(value)}
    json.dumps(payload, allow_nan=False)
    again = _round_trip(event)
    for got in (again.values["y"], again.duration_s):
        assert isinstance(got, float)
        assert math.isnan(got) if math.isnan(value) else got == value
    assert again.values["z"] == 1.0


def test_non_finite_floats_nested_in_free_form_mappings_round_trip() -> None:
    event = ev.ModelTrained(n_observations=1, summary={"a": [1.0, math.inf, {"b": -math.inf}]})
    again = _round_trip(event)
    assert again.summary == {"a": [1.0, math.inf, {"b": -math.inf}]}


@pytest.mark.parametrize("event_type", ["no.such.type", "", "Design.Proposed"])
def test_unknown_type_is_corrupt(event_type: str) -> None:
    with pytest.raises(JournalCorrupt, match="unknown event type"):
        ev.from_payload(event_type, 1, {})


@pytest.mark.parametrize("version", [0, 2, 99, -1])
@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_unknown_version_is_corrupt(event_type: str, version: int) -> None:
    payload = ev.to_payload(SAMPLES[event_type])
    with pytest.raises(JournalCorrupt, match=f"version {version}"):
        ev.from_payload(event_type, version, payload)


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_payload_with_an_extra_field_is_corrupt(event_type: str) -> None:
    payload = {**ev.to_payload(SAMPLES[event_type]), "smuggled": 1}
    with pytest.raises(JournalCorrupt, match="does not fit"):
        ev.from_payload(event_type, SAMPLES[event_type].version, payload)


REQUIRED = [
    (event_type, f.name)
    for event_type, cls in sorted(ev.EVENT_TYPES.items())
    for f in dataclasses.fields(cls)
    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
]


@pytest.mark.parametrize(("event_type", "field"), REQUIRED)
def test_payload_missing_a_required_field_is_corrupt(event_type: str, field: str) -> None:
    payload = ev.to_payload(SAMPLES[event_type])
    del payload[field]
    with pytest.raises(JournalCorrupt, match="does not fit"):
        ev.from_payload(event_type, SAMPLES[event_type].version, payload)


@pytest.mark.parametrize(
    ("event_type", "key"), [("proposal.reviewed", "verdict"), ("experiment.failed", "cause")]
)
def test_bad_enum_value_is_corrupt(event_type: str, key: str) -> None:
    payload = {**ev.to_payload(SAMPLES[event_type]), key: "maybe"}
    with pytest.raises(JournalCorrupt, match=f"bad {key} 'maybe'"):
        ev.from_payload(event_type, 1, payload)


def test_may_append_follows_permissions() -> None:
    for role in ev.Role:
        for event_type in ev.EVENT_TYPES:
            assert ev.may_append(role, event_type) is (event_type in ev.PERMISSIONS[role])


def test_malformed_float_marker_is_corrupt() -> None:
    payload = {"n_observations": 1, "summary": {"a": {"__float__": "not a float"}}}
    with pytest.raises(JournalCorrupt, match=r"model\.trained"):
        ev.from_payload("model.trained", 1, payload)


@pytest.mark.parametrize("inner", ["1.5", "abc"])
def test_mapping_that_looks_like_a_float_marker_round_trips_or_is_refused(inner: str) -> None:
    event = ev.ModelTrained(n_observations=1, summary={"a": {"__float__": inner}})
    try:
        payload = ev.to_payload(event)
    except ValueError:
        return  # refusing to store an ambiguous mapping is a fine answer
    assert ev.from_payload(event.type, event.version, payload) == event


def test_an_optional_field_at_its_default_is_not_written() -> None:
    plain = ev.DesignProposed(experiment_id="e1", params={}, proposer="p", decision=0, seed=1)
    assert "control" not in ev.to_payload(plain)  # stored exactly as before the field existed
    assert ev.from_payload(plain.type, plain.version, ev.to_payload(plain)).control is False
    marked = dataclasses.replace(plain, control=True)
    assert ev.to_payload(marked)["control"] is True
    assert _round_trip(marked).control is True


def test_a_proposal_written_before_cpu_timing_reads_with_zero_cpu_seconds() -> None:
    new = ev.DesignProposed(
        experiment_id="e0001", params={"x": 1}, proposer="p", decision=0, seed=1, proposer_s=0.5
    )
    payload = ev.to_payload(new)
    assert "proposer_cpu_s" not in payload  # left out when unset, so old hashes still hold
    old = ev.from_payload("design.proposed", 1, payload)
    assert isinstance(old, ev.DesignProposed) and old.proposer_cpu_s == 0.0
    timed = ev.to_payload(dataclasses.replace(new, proposer_cpu_s=0.25))
    assert timed["proposer_cpu_s"] == 0.25
