"""Gross errors in the simulators (`outlier_rate`): off by default, seeded, and only where they
strike."""

from __future__ import annotations

import pytest

from daedalus import InvalidCampaign, Outcome
from daedalus.sims.base import gross_error
from daedalus.sims.functions import Branin
from daedalus.sims.snar import SnarReactor

SNAR_DESIGN = {
    "residence_time_min": 1.0,
    "equivalents": 2.0,
    "concentration_m": 0.3,
    "temperature_c": 80.0,
}
BRANIN_DESIGN = {"x1": 1.0, "x2": 4.0}


def values(sim: object, params: dict[str, float], seed: int) -> dict[str, float]:
    out = sim.evaluate(params, seed=seed)  # type: ignore[attr-defined]
    assert isinstance(out, Outcome)
    return dict(out.values)


@pytest.mark.parametrize(
    ("make", "params"),
    [(lambda **o: Branin(noise_sd=1.0, **o), BRANIN_DESIGN), (SnarReactor, SNAR_DESIGN)],
)
def test_rate_zero_is_the_old_simulator_and_errors_strike_only_their_seeds(
    make: object, params: dict[str, float]
) -> None:
    plain, zero, dirty = make(), make(outlier_rate=0.0), make(outlier_rate=0.3)  # type: ignore[operator]
    struck = 0
    for seed in range(60):
        if isinstance(plain, SnarReactor) and not isinstance(
            plain.evaluate(params, seed=seed), Outcome
        ):
            continue  # a clog or an analysis fault: no reading to corrupt
        base = values(plain, params, seed)
        assert values(zero, params, seed) == base
        bad = values(dirty, params, seed)
        if gross_error(seed, 0.3) is None:
            assert bad == base
        else:
            struck += 1
            assert bad != base
    assert 8 <= struck <= 30  # about 30 % of 60


def test_gross_error_sizes_follow_the_stated_models() -> None:
    for seed in range(200):
        error = gross_error(seed, 0.5)
        if error is None:
            continue
        shift = (
            values(Branin(outlier_rate=0.5), BRANIN_DESIGN, seed)["value"]
            - values(Branin(), BRANIN_DESIGN, seed)["value"]
        )
        assert 100.0 <= abs(shift) <= 300.0 and shift * error[0] > 0
        sty = values(SnarReactor(outlier_rate=0.5, failures=False), SNAR_DESIGN, seed)["sty"]
        clean = values(SnarReactor(failures=False), SNAR_DESIGN, seed)["sty"]
        ratio = sty / clean
        assert (2.0 <= ratio <= 4.0) if error[0] > 0 else (0.25 <= ratio <= 0.5)


@pytest.mark.parametrize("make", [Branin, SnarReactor])
@pytest.mark.parametrize("rate", [-0.1, 1.5, "0.1", True])
def test_bad_outlier_rate_is_refused(make: type, rate: object) -> None:
    with pytest.raises(InvalidCampaign, match="outlier_rate"):
        make(outlier_rate=rate)
