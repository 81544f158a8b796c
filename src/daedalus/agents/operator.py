"""The operator's decisions: what to journal when a machine answers. Pure.

The operator is the only role that talks to machines; the I/O itself lives in
`daedalus.runtime`, which calls these functions to turn each answer into events. Intent is
always journaled before the machine is touched.
"""

from __future__ import annotations

from daedalus.events import Cause, ExperimentFailed, ObservationRecorded, OutcomeUnknown
from daedalus.machines.base import Failure, Outcome
from daedalus.state import Experiment

RETRYABLE = frozenset({Cause.MACHINE_FAULT, Cause.TIMEOUT})


def on_outcome(exp: Experiment, outcome: Outcome) -> ObservationRecorded:
    return ObservationRecorded(
        experiment_id=exp.id,
        values=dict(outcome.values),
        duration_s=outcome.duration_s,
        attempt=exp.attempt,
    )


def on_failure(exp: Experiment, failure: Failure, *, retries: int) -> ExperimentFailed:
    """A failed attempt; transient causes are retried while `exp.attempt <= retries`."""
    retry = failure.cause in RETRYABLE and exp.attempt <= retries
    return ExperimentFailed(
        experiment_id=exp.id,
        cause=failure.cause,
        reason=failure.reason,
        attempt=exp.attempt,
        retry=retry,
        duration_s=failure.duration_s,
    )


def on_unknown(exp: Experiment, machine: str, reason: str) -> OutcomeUnknown:
    return OutcomeUnknown(experiment_id=exp.id, machine=machine, reason=reason)


def quarantined(exp: Experiment, *, max_intents: int) -> ExperimentFailed | None:
    """A poison pill: the runtime stopped `max_intents` times while this design was starting."""
    if exp.intents < max_intents:
        return None
    return ExperimentFailed(
        experiment_id=exp.id,
        cause=Cause.MACHINE_FAULT,
        reason=f"quarantined: {exp.intents} starts never reached the machine's acknowledgement",
        attempt=exp.attempt,
        retry=False,
    )
