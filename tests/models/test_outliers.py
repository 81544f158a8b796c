"""The leave-one-out residual test in `daedalus.models.outliers`, checked on its own: the closed
form against an explicit refit-free leave-one-out, the gradient against finite differences, and
the verdicts on smooth data with and without gross errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import linalg

from daedalus.models import outliers
from daedalus.models.outliers import MIN_READINGS, THRESHOLD, disagree, judge, loo_scores


def _smooth(n: int, *, d: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` designs on the unit square and a smooth noiseless response."""
    x = np.random.default_rng(seed).random((n, d))
    y = np.sin(3.0 * x[:, 0]) + np.cos(2.0 * x[:, 1]) + x[:, 0] * x[:, 1]
    return x, y


def test_the_closed_form_matches_predicting_each_reading_from_the_others() -> None:
    """Rasmussen & Williams eq. 5.12: with the hyperparameters fixed, mu_-i and s_-i from
    K^-1 equal the GP posterior at x_i given the other n - 1 readings."""
    x, y = _smooth(15)
    mean, sd = float(np.mean(y)), float(np.std(y))
    ys = (y - mean) / sd
    theta = outliers._fit(x, ys)
    lengthscales, noise = np.exp(theta[:-1]), math.exp(theta[-1])
    loo_mean, loo_sd, _ = loo_scores(x, y)
    for i in range(len(y)):
        rest = np.arange(len(y)) != i
        k = outliers._kernel(x[rest], lengthscales) + noise * np.eye(len(y) - 1)
        k_star = outliers._kernel(np.vstack([x[i], x[rest]]), lengthscales)[0, 1:]
        mu = k_star @ linalg.solve(k, ys[rest], assume_a="pos")
        var = 1.0 + noise - k_star @ linalg.solve(k, k_star, assume_a="pos")
        assert loo_mean[i] == pytest.approx(mu * sd + mean, rel=1e-6, abs=1e-9)
        assert loo_sd[i] == pytest.approx(math.sqrt(var) * sd, rel=1e-6)


def test_the_gradient_of_the_negative_log_posterior_matches_finite_differences() -> None:
    x, y = _smooth(12, d=3, seed=1)
    ys = (y - y.mean()) / y.std()
    theta = np.array([-0.7, 0.2, 0.9, -3.0])
    _, grad = outliers._neg_log_posterior(theta, x, ys)
    step = 1e-6
    for j in range(len(theta)):
        up, down = theta.copy(), theta.copy()
        up[j] += step
        down[j] -= step
        numeric = (
            outliers._neg_log_posterior(up, x, ys)[0] - outliers._neg_log_posterior(down, x, ys)[0]
        ) / (2 * step)
        assert grad[j] == pytest.approx(numeric, rel=1e-4, abs=1e-6)


def test_no_verdict_before_the_eighth_reading() -> None:
    x, y = _smooth(MIN_READINGS - 1)
    assert judge(x, y, len(y) - 1) is None
    x, y = _smooth(MIN_READINGS)
    assert judge(x, y, len(y) - 1) is not None


@pytest.mark.parametrize("seed", range(5))
def test_a_gross_error_on_a_smooth_response_is_suspect(
    seed: int,
) -> None:
    x, y = _smooth(25, seed=seed)
    spoiled = y.copy()
    spoiled[-1] += 5.0 * float(np.std(y))
    verdict = judge(x, spoiled, len(y) - 1)
    assert verdict is not None and verdict.suspect and verdict.score > THRESHOLD
    # The prediction leans on the other readings, so it stays nearer the true value.
    assert abs(verdict.prediction - y[-1]) < abs(verdict.value - y[-1]) / 2


def test_an_earlier_gross_error_does_not_hide_a_new_one() -> None:
    """The trimming pass: a standing error left in the fit would inflate the noise and mask the
    next one."""
    x, y = _smooth(30, seed=3)
    spoiled = y.copy()
    spread = float(np.std(y))
    spoiled[5] -= 6.0 * spread  # never tested: it stands in the data
    spoiled[-1] += 5.0 * spread
    verdict = judge(x, spoiled, len(y) - 1)
    assert verdict is not None and verdict.suspect


def test_sound_readings_of_a_smooth_noiseless_response_are_not_suspect() -> None:
    """The MAD of LOO scores is small on such data: divided by it alone (the within view),
    sound readings score past 4; the view without the reading keeps them below it."""
    within_flags, verdicts = 0, []
    for seed in range(8):
        x, y = _smooth(25, seed=seed)
        _, _, z = loo_scores(x, y)
        within_flags += int(np.sum(np.abs(z) / outliers.robust_scale(z) > THRESHOLD))
        verdicts += [judge(x, y, i) for i in range(len(y))]
    assert within_flags > 0  # the failure the second view is there for
    assert not any(v is None or v.suspect for v in verdicts)


def test_the_verdict_is_deterministic() -> None:
    x, y = _smooth(20, seed=4)
    y[-1] += 3.0
    assert judge(x, y, 19) == judge(x, y, 19)


def test_a_long_campaign_is_judged_on_the_nearest_readings() -> None:
    x, y = _smooth(outliers.MAX_POINTS + 60, seed=5)
    y[7] += 5.0 * float(np.std(y))
    verdict = judge(x, y, 7)
    assert verdict is not None and verdict.suspect
    assert not judge(x, y, 8).suspect  # type: ignore[union-attr]


def test_constant_readings_give_zero_scores() -> None:
    x, _ = _smooth(10)
    loo_mean, loo_sd, z = loo_scores(x, np.full(10, 2.5))
    assert np.all(loo_mean == 2.5) and np.all(loo_sd == 0.0) and np.all(z == 0.0)
    verdict = judge(x, np.full(10, 2.5), 9)
    assert verdict is not None and verdict.score == 0.0 and not verdict.suspect


def test_a_repeat_disagrees_only_beyond_threshold_sds() -> None:
    assert not disagree(10.0, 10.0 + 3.9, sd=1.0, threshold=4.0)
    assert disagree(10.0, 10.0 + 4.1, sd=1.0, threshold=4.0)
    assert disagree(10.0, 10.0 - 4.1, sd=1.0, threshold=4.0)
