"""The operator's decisions: what to journal for each machine answer."""

from __future__ import annotations

import pytest

from daedalus import events as ev
from daedalus.agents.operator import RETRYABLE, on_failure, on_outcome, on_unknown, quarantined
from daedalus.machines.base import Failure, Outcome
from daedalus.state import Experiment, Status

EXP = Experiment(
    id="e0007",
    params={"x": 0.5},
    proposer="t",
    decision=0,
    status=Status.DISPATCHED,
    attempt=2,
    intents=2,
)


def test_outcome_is_recorded_with_its_attempt() -> None:
    event = on_outcome(EXP, Outcome(values={"y": 1.5}, duration_s=3.0))
    assert event == ev.ObservationRecorded(
        experiment_id="e0007", values={"y": 1.5}, duration_s=3.0, attempt=2
    )


@pytest.mark.parametrize(
    ("cause", "retries", "retry"),
    [
        (ev.Cause.MACHINE_FAULT, 2, True),
        (ev.Cause.TIMEOUT, 2, True),
        (ev.Cause.MACHINE_FAULT, 1, False),  # attempt 2 > 1 retry
        (ev.Cause.TIMEOUT, 0, False),
        (ev.Cause.INFEASIBLE, 5, False),
        (ev.Cause.SAFETY_ABORT, 5, False),
        (ev.Cause.REJECTED, 5, False),
    ],
)
def test_only_transient_failures_are_retried_within_the_budget(
    cause: ev.Cause, retries: int, retry: bool
) -> None:
    event = on_failure(EXP, Failure(cause, "boom", duration_s=1.0), retries=retries)
    assert event == ev.ExperimentFailed(
        experiment_id="e0007", cause=cause, reason="boom", attempt=2, retry=retry, duration_s=1.0
    )
    assert (cause in RETRYABLE) is (cause in {ev.Cause.MACHINE_FAULT, ev.Cause.TIMEOUT})


def test_unknown_outcome_names_the_machine() -> None:
    assert on_unknown(EXP, "m1", "no answer") == ev.OutcomeUnknown(
        experiment_id="e0007", machine="m1", reason="no answer"
    )


@pytest.mark.parametrize(("max_intents", "quarantine"), [(3, False), (2, True), (1, True)])
def test_a_poison_pill_is_quarantined_after_max_intents(max_intents: int, quarantine: bool) -> None:
    event = quarantined(EXP, max_intents=max_intents)
    if not quarantine:
        assert event is None
        return
    assert event is not None
    assert (event.cause, event.retry, event.attempt) == (ev.Cause.MACHINE_FAULT, False, 2)
    assert event.reason.startswith("quarantined: 2 starts")
