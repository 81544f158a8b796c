r"""A robust residual test for gross errors in readings: leave-one-out GP residuals.

The analyst asks, for a new reading, how far it lies from what the campaign's other readings
predict at its design. A Gaussian process is fitted to all valid readings of one metric, and the
leave-one-out (LOO) predictive residual of every reading follows in closed form from the inverse
of the kernel matrix (Rasmussen & Williams, "Gaussian Processes for Machine Learning", MIT Press
2006, section 5.4.2, eq. 5.12; no refit per point):

    mu_-i = y_i - [K^-1 y]_i / [K^-1]_ii        s_-i^2 = 1 / [K^-1]_ii
    z_i   = (y_i - mu_-i) / s_-i = [K^-1 y]_i / sqrt([K^-1]_ii)

The z_i would be standard normal if the GP were the truth. It never quite is, and a single
view of them fails in one of two ways, so a reading is judged by two and is suspect only when
both find it improbable:

- **Within**: its own z against the robust spread of all of them, `z_i / scale` with
  `scale = 1.4826 * median |z_j|` (the median absolute deviation, a consistent estimate of the
  sd that one or two gross errors barely move; Hampel, J. Am. Stat. Assoc. 69, 1974, 383-393).
  A gross error inflates the GP's fitted noise, which shrinks every z, its own included; the
  scale shrinks with them, so the error still stands out (no masking). But on smooth, noiseless
  responses the z are heavy-tailed with a small MAD (0.29 to 0.44 on the data below), and sound
  readings then score 6 to 9.
- **Without**: its residual from a GP whose hyperparameters are fitted to the other readings
  only (`predict_left_out`), over that GP's predictive sd (latent variance plus noise) times
  `max(1, scale)`. The reading cannot inflate the noise it is judged by, and the yardstick is
  never narrower than the GP's own sd. But a Bayesian optimisation campaign puts each new
  design where that very GP was unsure or too hopeful, and a sound reading that surprises it
  scores high: alone, this view spent 6 to 10 of 40 experiments on repeats in `hartmann6`.

    |score| = min(|within|, |without|) > threshold        (default 4)

The verdict reports the milder view's score, prediction and sd. Measured on a smooth noiseless
response (25 random designs on the unit square, 8 seeds): sound readings score at most 3.7
(within alone flagged 7 of them); a reading 3 sds of the response off scores 2.1 to 10.6 and is
suspect in 5 of 8 seeds. `tests/models/test_outliers.py` keeps these findings.

The robust predictive sd of the reading, `sd = scale * s` in the metric's units, is what a
repeat is later compared with: the repeat disagrees with the original when
`|y_original - y_repeat| > threshold * sd`, the same yardstick that flagged it.

Other readings whose in-fit score `|z_j| / max(1, scale)` passes `TRIM` = 2.5 (an early gross
error is never tested: the test starts at the eighth reading) are left out of both views, so
one gross error that stands in the data does not hide the next by inflating the fitted noise.

The GP mirrors BoTorch's default `SingleTaskGP` (inputs on the unit cube, outputs standardised,
an RBF kernel with one lengthscale per input and the dimension-scaled log-normal prior of
Hvarfner et al., "Vanilla Bayesian optimization performs great in high dimensions", ICML 2024,
LogNormal(sqrt 2 + log(d) / 2, sqrt 3); noise variance with prior LogNormal(-4, 1) and floor
1e-4), fitted by MAP with L-BFGS-B and exact gradients from a fixed start. It is written in numpy
rather than calling BoTorch because the analyst runs it after every reading: a fit takes
milliseconds, it is bit-for-bit deterministic (no torch threads), and it needs no optional extra.
Above `MAX_POINTS` readings the test uses the `MAX_POINTS` readings nearest the tested design,
so its cost stays bounded in a campaign of thousands of experiments.

Campaign rates are printed by `benchmarks/outliers.py` and bounded in
`tests/runtime/test_outliers.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import linalg, optimize

FloatArray = npt.NDArray[np.float64]

THRESHOLD = 4.0
TRIM = 2.5  # other readings scoring past this are left out of both views
MIN_READINGS = 8
MAX_POINTS = 150
MAD_TO_SD = 1.4826
NOISE_FLOOR = 1e-4  # noise variance on standardised outputs, as BoTorch's default GP
NOISE_PRIOR = (-4.0, 1.0)  # LogNormal(mean, sd) of the noise variance
TEST = "leave-one-out GP residual, in the fit and refitted without the reading, MAD scale"


@dataclass(frozen=True, slots=True)
class Residual:
    """The test's verdict on one reading: its LOO `prediction` from the other readings and
    robust predictive `sd` (metric units), `score = (value - prediction) / sd`, and whether
    `|score| > threshold`."""

    value: float
    prediction: float
    sd: float
    score: float
    threshold: float

    @property
    def suspect(self) -> bool:
        return abs(self.score) > self.threshold


def loo_scores(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """LOO predictive means, sds (units of `y`) and z-scores of a GP fitted to `x` (`n x d`, on
    the unit cube) and `y` (`n`)."""
    mean, sd = float(np.mean(y)), float(np.std(y))
    if sd == 0.0 or not math.isfinite(sd):
        n = len(y)
        return np.full(n, mean), np.zeros(n), np.zeros(n)
    ys = (y - mean) / sd
    theta = _fit(x, ys)
    k_inv = linalg.cho_solve(_cholesky(x, theta), np.eye(len(ys)))
    alpha = k_inv @ ys
    diag = np.diag(k_inv)
    z = alpha / np.sqrt(diag)
    loo_mean = (ys - alpha / diag) * sd + mean
    loo_sd = sd / np.sqrt(diag)
    return loo_mean, loo_sd, z


def judge(
    x: FloatArray, y: FloatArray, index: int, *, threshold: float = THRESHOLD
) -> Residual | None:
    """Judge reading `index` of `y` against the others; None below `MIN_READINGS` readings.

    `x` is `n x d` on the unit cube, `y` has length `n`. Deterministic: the same readings give
    the same verdict.
    """
    n = len(y)
    if n < MIN_READINGS:
        return None
    if n > MAX_POINTS:  # the nearest readings, the tested one first (stable order on ties)
        distance = np.sum((x - x[index]) ** 2, axis=1)
        distance[index] = -1.0
        keep = np.argsort(distance, kind="stable")[:MAX_POINTS]
        x, y, index = x[keep], y[keep], 0
    _, _, z = loo_scores(x, y)
    # One trimming pass: other readings scoring past TRIM (gross errors that stand, unjudged
    # or kept) are left out of the fits the reading is judged by, so they do not inflate them.
    others = np.abs(z) / max(1.0, robust_scale(z)) > TRIM
    others[index] = False
    if others.any() and int(np.sum(~others)) >= MIN_READINGS:
        index = int(np.sum(~others[:index]))
        x, y = x[~others], y[~others]
    value = float(y[index])
    loo_mean, loo_sd, z = loo_scores(x, y)
    scale = robust_scale(z)
    if loo_sd[index] == 0.0:  # every reading exactly predicted
        return Residual(value, float(loo_mean[index]), 0.0, 0.0, threshold)
    # Two views of the same reading; it is suspect only when both find it improbable, and the
    # verdict reports the milder of the two (see the module docstring).
    within = Residual(
        value,
        float(loo_mean[index]),
        scale * float(loo_sd[index]),
        float(z[index]) / scale,
        threshold,
    )
    prediction, sd = predict_left_out(x, y, index)
    if sd == 0.0:
        return within
    sd *= max(1.0, scale)
    without = Residual(value, prediction, sd, (value - prediction) / sd, threshold)
    return min(within, without, key=lambda r: abs(r.score))


def predict_left_out(x: FloatArray, y: FloatArray, index: int) -> tuple[float, float]:
    """The predictive mean and sd (units of `y`) of reading `index` from a GP fitted, its
    hyperparameters included, to the other readings only: the reading cannot inflate the noise
    it is judged by."""
    rest = np.arange(len(y)) != index
    xr, yr = x[rest], y[rest]
    mean, spread = float(np.mean(yr)), float(np.std(yr))
    if spread == 0.0 or not math.isfinite(spread):
        return mean, 0.0
    ys = (yr - mean) / spread
    theta = _fit(xr, ys)
    lengthscales, noise = np.exp(theta[:-1]), math.exp(theta[-1])
    factor = _cholesky(xr, theta)
    k_star = _kernel(np.vstack([x[index], xr]), lengthscales)[0, 1:]
    mu = float(k_star @ linalg.cho_solve(factor, ys))
    var = 1.0 + noise - float(k_star @ linalg.cho_solve(factor, k_star))
    return mu * spread + mean, math.sqrt(max(var, noise)) * spread


def robust_scale(z: FloatArray) -> float:
    """`1.4826 * median |z|`, the robust spread of LOO z-scores (1 when it is 0: every reading
    exactly predicted)."""
    scale = MAD_TO_SD * float(np.median(np.abs(z)))
    return scale if scale > 0.0 else 1.0


def disagree(original: float, repeat: float, *, sd: float, threshold: float) -> bool:
    """Whether a repeat contradicts a suspect reading: `|original - repeat| > threshold * sd`."""
    return abs(original - repeat) > threshold * sd


# -- the GP --------------------------------------------------------------------------------------


def _prior(d: int) -> tuple[float, float]:
    return math.sqrt(2.0) + 0.5 * math.log(d), math.sqrt(3.0)


def _kernel(x: FloatArray, lengthscales: FloatArray) -> FloatArray:
    u = x / lengthscales
    sq = np.sum(u**2, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * u @ u.T, 0.0)
    return np.asarray(np.exp(-0.5 * d2))


def _cholesky(x: FloatArray, theta: FloatArray) -> tuple[FloatArray, bool]:
    k = _kernel(x, np.exp(theta[:-1]))
    k[np.diag_indices_from(k)] += math.exp(theta[-1])
    for jitter in (0.0, 1e-8, 1e-6, 1e-4):
        try:
            factor, lower = linalg.cho_factor(k + jitter * np.eye(len(k)), lower=True)
            return np.asarray(factor, dtype=np.float64), bool(lower)
        except linalg.LinAlgError:
            continue
    raise linalg.LinAlgError("the kernel matrix is not positive definite")


def _neg_log_posterior(theta: FloatArray, x: FloatArray, y: FloatArray) -> tuple[float, FloatArray]:
    n, d = x.shape
    lengthscales = np.exp(theta[:-1])
    noise = math.exp(theta[-1])
    k_f = _kernel(x, lengthscales)
    k = k_f + noise * np.eye(n)
    try:
        factor = linalg.cho_factor(k, lower=True)
    except linalg.LinAlgError:
        return 1e10, np.zeros_like(theta)
    alpha = linalg.cho_solve(factor, y)
    k_inv = linalg.cho_solve(factor, np.eye(n))
    nll = (
        0.5 * float(y @ alpha)
        + float(np.sum(np.log(np.diag(factor[0]))))
        + 0.5 * n * math.log(2 * math.pi)
    )
    inner = np.outer(alpha, alpha) - k_inv  # d log p / d K, times 2
    grad = np.empty_like(theta)
    for j in range(d):
        diff2 = (x[:, j][:, None] - x[:, j][None, :]) ** 2 / lengthscales[j] ** 2
        grad[j] = -0.5 * float(np.sum(inner * (k_f * diff2)))
    grad[-1] = -0.5 * float(np.trace(inner)) * noise
    mu, sigma = _prior(d)
    nll += float(np.sum((theta[:-1] - mu) ** 2)) / (2 * sigma**2)
    grad[:-1] += (theta[:-1] - mu) / sigma**2
    mu_n, sigma_n = NOISE_PRIOR
    nll += (theta[-1] - mu_n) ** 2 / (2 * sigma_n**2)
    grad[-1] += (theta[-1] - mu_n) / sigma_n**2
    return nll, grad


def _fit(x: FloatArray, y: FloatArray) -> FloatArray:
    """MAP log-lengthscales and log noise variance, from the priors' modes."""
    d = x.shape[1]
    mu, _ = _prior(d)
    start = np.array([mu] * d + [max(NOISE_PRIOR[0], math.log(NOISE_FLOOR))])
    bounds = [(math.log(1e-3), math.log(1e3))] * d + [(math.log(NOISE_FLOOR), math.log(10.0))]
    result = optimize.minimize(
        _neg_log_posterior,
        start,
        args=(x, y),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 200},
    )
    return np.asarray(result.x, dtype=np.float64)


__all__ = [
    "MIN_READINGS",
    "TEST",
    "THRESHOLD",
    "Residual",
    "disagree",
    "judge",
    "loo_scores",
    "predict_left_out",
    "robust_scale",
]
