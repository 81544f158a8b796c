"""Tool wear on the lathe (`wear_mm_per_h`): off by default, monotone in campaign time."""

from __future__ import annotations

import pytest

from daedalus.errors import InvalidCampaign
from daedalus.machines.base import Outcome
from daedalus.sims.base import ClockedSimulator
from daedalus.sims.turning import WEAR_CAP_MM, TurningLathe

DESIGN = {
    "tool_grade": "carbide",
    "cutting_speed_m_min": 200.0,
    "feed_mm_rev": 0.2,
    "depth_mm": 2.0,
}
HOURS = [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 20.0]


def reading(lathe: TurningLathe, seed: int, at_h: float) -> dict[str, float]:
    out = lathe.evaluate(DESIGN, seed=seed, at_s=3600.0 * at_h)
    assert isinstance(out, Outcome)
    return dict(out.values)


@pytest.mark.parametrize("seed", range(5))
def test_zero_wear_reproduces_the_old_outputs_at_any_time(seed: int) -> None:
    old, zero = TurningLathe(failures=False), TurningLathe(failures=False, wear_mm_per_h=0.0)
    assert not zero.clocked
    base = old.evaluate(DESIGN, seed=seed)
    assert all(zero.evaluate(DESIGN, seed=seed, at_s=3600.0 * h) == base for h in HOURS)


@pytest.mark.parametrize("seed", range(5))
def test_roughness_and_power_rise_monotonically_with_time_and_cost_does_not(seed: int) -> None:
    lathe = TurningLathe(failures=False, wear_mm_per_h=0.05)
    assert isinstance(lathe, ClockedSimulator) and lathe.clocked
    series = [reading(lathe, seed, h) for h in HOURS]
    for key in ("roughness_um", "power_kw"):
        values = [r[key] for r in series]
        assert values == sorted(values) and values[-1] > values[0]
    assert len({r["cost_usd"] for r in series}) == 1
    # at the ISO criterion (VB = 0.3 mm, after 6 h here) the Ra reading has doubled
    fresh, worn = reading(lathe, seed, 0.0), reading(lathe, seed, 6.0)
    assert worn["roughness_um"] == pytest.approx(2.0 * fresh["roughness_um"])
    assert lathe.flank_wear_mm(3600.0 * 1000) == WEAR_CAP_MM


def test_a_worn_edge_can_stall_the_spindle() -> None:
    lathe = TurningLathe(wear_mm_per_h=0.1)
    design = {**DESIGN, "tool_grade": "ceramic", "cutting_speed_m_min": 560.0, "depth_mm": 4.0}
    fresh = lathe.evaluate(design, seed=1, at_s=0.0)
    worn = lathe.evaluate(design, seed=1, at_s=3600.0 * 6)
    assert isinstance(fresh, Outcome) and not isinstance(worn, Outcome)


@pytest.mark.parametrize("rate", [-0.1, 2.0, "0.1"])
def test_bad_wear_rate_is_refused(rate: object) -> None:
    with pytest.raises(InvalidCampaign, match="wear_mm_per_h"):
        TurningLathe(wear_mm_per_h=rate)  # type: ignore[arg-type]
