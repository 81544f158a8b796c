"""The self-starting CUSUM and the control curve: exact in-control scores, alarms, estimates."""

from __future__ import annotations

import numpy as np
import pytest

from daedalus.models import drift


def test_scores_are_standard_normal_in_control_whatever_the_mean_and_scale() -> None:
    rng = np.random.default_rng(3)
    scores = [
        u
        for _ in range(1500)
        for u in drift.standardised(list(7.0 + 0.2 * rng.standard_normal(10)))
    ]
    assert abs(float(np.mean(scores))) < 0.05
    assert abs(float(np.std(scores)) - 1.0) < 0.05


@pytest.mark.parametrize("seed", range(20))
def test_no_alarm_on_in_control_readings(seed: int) -> None:
    rng = np.random.default_rng(seed)
    assert drift.cusum(list(0.25 + 0.0025 * rng.standard_normal(12))) is None


@pytest.mark.parametrize("direction", ["up", "down"])
def test_a_step_alarms_in_its_direction_with_its_change_point_and_shift(direction: str) -> None:
    rng = np.random.default_rng(0)
    step = 0.02 if direction == "up" else -0.02
    readings = list(0.25 + 0.0025 * rng.standard_normal(12))
    readings[6:] = [r + step for r in readings[6:]]
    alarm = drift.cusum(readings)
    assert alarm is not None
    assert alarm.direction == direction
    assert alarm.change_point in (5, 6, 7)  # an estimate: within one reading of the step
    assert 6 <= alarm.index <= 8
    assert alarm.statistic > alarm.threshold == drift.H
    assert alarm.shift == pytest.approx(step, abs=0.006)


def test_identical_readings_then_a_change_alarm_at_once() -> None:
    alarm = drift.cusum([1.0, 1.0, 1.0, 1.0, 0.9])
    assert alarm is not None and alarm.index == 4 and alarm.direction == "down"
    assert drift.cusum([1.0] * 8) is None


def test_the_stated_false_alarm_rate() -> None:
    # the module docstring states these; the Monte Carlo is exact because the scores are
    assert drift.false_alarm_rate(8, runs=20000) < 0.005
    assert drift.false_alarm_rate(20, runs=20000) < 0.035


def test_control_curve_interpolates_between_brackets_and_is_flat_outside() -> None:
    times, levels = (0.0, 10.0, 20.0), (1.0, 0.8, 0.7)
    assert drift.control_curve(times, levels, -5.0) == 1.0
    assert drift.control_curve(times, levels, 5.0) == pytest.approx(0.9)
    assert drift.control_curve(times, levels, 15.0) == pytest.approx(0.75)
    assert drift.control_curve(times, levels, 99.0) == 0.7
