r"""Drift detection on control runs, and the correction of older data by the controls.

The analyst re-runs one fixed control design at intervals and tests the readings with a
self-starting two-sided CUSUM (Hawkins, "Self-starting CUSUM charts for location and scale",
The Statistician 36, 1987, 299-315; Hawkins & Olwell, "Cumulative Sum Charts and Charting for
Quality Improvement", Springer 1998, section 7.2). The in-control mean and spread of a control
are never known in advance, so each reading n >= 3 is standardised by the mean and standard
deviation of the readings before it,

    T_n = (x_n - mean_{n-1}) / sd_{n-1} * sqrt((n - 1) / n)      ~ Student t, n - 2 dof
    U_n = Phi^-1(F_t(T_n; n - 2))                                ~ N(0, 1), independent

which makes the U_n exactly independent standard normals while the process is in control and the
noise is Gaussian, whatever its mean and scale. The two-sided CUSUM on them,
S+_n = max(0, S+_{n-1} + U_n - k) and S-_n = max(0, S-_{n-1} - U_n - k), alarms when either side
exceeds h. With k = 0.5 and h = 5 a campaign of 8 in-control controls raises a false alarm with
probability 0.27 %, of 20 controls 2.6 %, of 40 controls 6.7 % (`false_alarm_rate`: a Monte
Carlo over 200,000 N(0, 1) sequences, exact because the U_n are); a long campaign that must
stay quieter sets a larger `threshold`. The change point is estimated as the control after the
last time the alarming side was zero (the usual CUSUM estimate), and the shift as the mean after
it minus the mean before.

A plain CUSUM with a baseline from the first few controls would be simpler, but its false-alarm
rate then depends on how well those few readings happen to estimate the noise; the self-starting
form has no such dependence, and so a false-alarm rate that can be stated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

K = 0.5  # reference value: tuned to shifts of about one standard deviation
H = 5.0  # decision interval
MIN_READINGS = 3  # the first reading that can be standardised is the third
U_CAP = 8.0  # a reading that differs from identical earlier ones is a certain change
TEST = "self-starting two-sided CUSUM (Hawkins 1987)"


@dataclass(frozen=True, slots=True)
class Alarm:
    """A CUSUM alarm: at reading `index`, with `statistic` > `threshold` in `direction`;
    `change_point` is the index of the first reading after the estimated change."""

    index: int
    statistic: float
    threshold: float
    direction: str
    change_point: int
    shift: float
    relative_shift: float


def standardised(readings: Sequence[float]) -> list[float]:
    """The self-starting scores U_3, U_4, ... of `readings` (one per reading from the third)."""
    x = [float(r) for r in readings]
    scores = []
    for n in range(MIN_READINGS, len(x) + 1):
        before = np.asarray(x[: n - 1])
        mean = float(before.mean())
        sd = float(before.std(ddof=1))
        if sd == 0.0 or not math.isfinite(sd):
            diff = x[n - 1] - mean
            scores.append(0.0 if diff == 0.0 else math.copysign(U_CAP, diff))
            continue
        t = (x[n - 1] - mean) / sd * math.sqrt((n - 1) / n)
        u = float(stats.norm.ppf(stats.t.cdf(t, df=n - 2)))
        scores.append(max(-U_CAP, min(U_CAP, u)))
    return scores


def cusum(readings: Sequence[float], *, k: float = K, h: float = H) -> Alarm | None:
    """The first alarm of the self-starting two-sided CUSUM on `readings`, or None."""
    high = low = 0.0
    high_zero = low_zero = MIN_READINGS - 1  # index of the first reading after the last reset
    for offset, u in enumerate(standardised(readings)):
        index = offset + MIN_READINGS - 1
        high = max(0.0, high + u - k)
        low = max(0.0, low - u - k)
        if high == 0.0:
            high_zero = index + 1
        if low == 0.0:
            low_zero = index + 1
        if high > h or low > h:
            up = high >= low
            change = high_zero if up else low_zero
            return _alarm(readings, index, high if up else low, h, "up" if up else "down", change)
    return None


def _alarm(
    readings: Sequence[float], index: int, statistic: float, h: float, direction: str, change: int
) -> Alarm:
    before = [float(r) for r in readings[:change]]
    after = [float(r) for r in readings[change : index + 1]]
    mean_before = float(np.mean(before))
    shift = float(np.mean(after)) - mean_before
    relative = shift / abs(mean_before) if mean_before != 0.0 else math.inf
    return Alarm(index, statistic, h, direction, change, shift, relative)


def false_alarm_rate(
    n_readings: int, *, k: float = K, h: float = H, runs: int = 20000, seed: int = 0
) -> float:
    """Monte Carlo chance that `n_readings` in-control Gaussian readings raise an alarm."""
    rng = np.random.default_rng(seed)
    n_scores = max(n_readings - MIN_READINGS + 1, 0)
    u = rng.standard_normal((runs, n_scores))
    high = np.zeros(runs)
    low = np.zeros(runs)
    alarmed = np.zeros(runs, dtype=bool)
    for j in range(n_scores):
        high = np.maximum(0.0, high + u[:, j] - k)
        low = np.maximum(0.0, low - u[:, j] - k)
        alarmed |= (high > h) | (low > h)
    return float(alarmed.mean())


def control_curve(times: Sequence[float], readings: Sequence[float], at: float) -> float:
    """The control's level at time `at`: linear between the bracketing controls, flat outside
    (the bracketing standards of analytical chemistry). `times` must be increasing."""
    if at <= times[0]:
        return float(readings[0])
    if at >= times[-1]:
        return float(readings[-1])
    return float(np.interp(at, times, readings))


__all__ = [
    "TEST",
    "Alarm",
    "H",
    "K",
    "control_curve",
    "cusum",
    "false_alarm_rate",
    "standardised",
]
