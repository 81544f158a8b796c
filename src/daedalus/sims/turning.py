"""CNC turning: tool life, cost and time per part, surface roughness and spindle power.

Equations (textbook forms as in Groover, "Fundamentals of Modern Manufacturing", chapters on
machining theory, tool life and machining economics):

    Tool life (extended Taylor):  V T^n f^a d^b = K             V m/min, T min, f mm/rev, d mm
    Machining time:               Tm = Vol / (1000 V f d)       Vol mm^3 of stock, MRR = V f d
    Cost per part (Gilbert):      Cp = Co (Th + Tm) + (Co Tt + Ct) Tm / T
    Time per part:                Tp = Th + Tm + Tt Tm / T
    Minimum-cost tool life:       T* = (1/n - 1) (Co Tt + Ct) / Co,   V* = C(f, d) / T*^n
    Maximum-rate tool life:       T* = (1/n - 1) Tt
    Ideal roughness:              Ra = f^2 / (32 r)             r nose radius, mm (1000 um/mm)
    Cutting power:                P [kW] = Kc f d V / 60,000    Kc specific cutting force N/mm^2

Sources: F. W. Taylor, "On the art of cutting metals", Trans. ASME 28 (1907) (V T^n = C);
W. W. Gilbert, "Economics of machining", in Machining - Theory and Practice, ASM (1950) (cost and
time per part, minimum-cost and maximum-rate tool lives); Groover, Fundamentals of Modern
Manufacturing (Taylor constants for steel work: HSS n 0.125, C 70 m/min; carbide 0.25, 500;
coated carbide 0.25, 700; ceramic 0.6, 3000; Ra = f^2/(32 r); RMR = v f d; P = Fc v). The
extended-Taylor exponents a = 0.6 (feed) and b = 0.15 (depth) are the "typical values" of
Kalpakjian and Schmid, Manufacturing Engineering and Technology (V T^n d^x f^y = C). `C(f, d) = C
(0.25 / f)^0.6 (2 / d)^0.15`: the textbook C holds at 0.25 mm/rev and 2 mm (our normalisation),
so at that feed and depth the minimum-cost speeds are HSS 47.8, carbide 254.1, coated carbide
339.8 and ceramic 1098.8 m/min. Kc = 2000 N/mm^2 is a medium-carbon steel value. The machining
time charges the stock volume at the removal rate V f d, i.e. the passes are counted fractionally
(a simplification: a real part takes ceil(stock / d) passes); the ideal roughness ignores built-up
edge at low speed, so the real Ra would be higher there.

The job (ours): a steel bar of 100 mm diameter turned to 92 mm over 300 mm (4 mm of radial stock,
361,911 mm^3), r = 0.8 mm nose radius, Co = 1 USD/min (machine and operator), Th = 1.5 min
handling, Tt = 2 min per edge change, edge costs Ct = 1 (HSS), 3 (carbide), 4 (coated carbide)
and 6 (ceramic) USD, spec Ra <= 3.2 um (feed <= 0.286 mm/rev), a lathe rated 15 kW continuous.
The reference (minimum cost per part, noiseless, within both limits) is a closed form. Cost is
unimodal in speed, so the best speed for a feed and depth is min(V*, the speed that draws 15 kW);
at that speed the cost falls with feed and depth (Tm ~ f^(a-1) d^(b-1) at V*; at constant power
the tool life grows with f d), so feed sits at the roughness limit and depth at 4 mm. Ceramic
wins, at the power limit (its V* would need 35 kW there).

OUR OWN ASSUMPTIONS, not from the sources above:

- Tool-life scatter: an edge's life is lognormal with mean T (Taylor) and a coefficient of
  variation of 0.3 (scatter of this size is reported, e.g., by Wager and Barash 1971; the value
  is ours). Edges are changed after their planned life T (Gilbert's rule), so an edge that wears
  out sooner breaks during a part: the chance that a given part sees a break is
  `P(life < T) * Tm / T` (about 0.56 Tm / T) when Tm <= T, and `P(life < Tm)` when a part takes
  longer than an edge lasts. A broken edge scraps the part: `Cause.INFEASIBLE`.
- Power stall: the bar's Kc scatters by the relative `noise` (hardness from bar to bar); the
  spindle stalls (`Cause.INFEASIBLE`) when the demand exceeds 18 kW, the lathe's short-time
  rating (120 % of its continuous 15 kW). Between 15 and 18 kW the part is made and the reading
  violates the `power_kw <= 15` constraint; out-of-spec roughness is likewise a valid reading.
- Noise: handling time, Kc and the Ra reading each scatter by the relative `noise` (default 5 %).
- Duration: the (realised) time per part, in seconds.
- Tool wear (off by default): with `wear_mm_per_h` = w > 0 the flank wear land of the edge grows
  with campaign time, VB(t) = w * t (t in hours from the campaign's start, capped at 0.6 mm):
  the steady, linear middle stage of the three-stage wear curve (Groover, tool wear versus
  cutting time; Taylor's law is this curve read at a fixed VB), with VB = 0.3 mm the ISO 3685
  life criterion. Our assumptions: the lathe keeps one edge for the campaign's span (a form tool
  reground rarely), and a worn flank rubs the surface and needs more force, so the Ra reading is
  multiplied by 1 + VB / 0.3 mm (twice the ideal at the criterion) and Kc by
  1 + 0.5 VB / 0.3 mm (power, and so stalls, rise with it). Wear moves the readings and the
  power constraint, not the cost model. With w = 0 the outputs are exactly those without it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache

import numpy as np

from daedalus.errors import InvalidCampaign
from daedalus.events import Cause
from daedalus.goal import Goal, Minimize
from daedalus.machines.base import Evaluation, Failure, Outcome
from daedalus.problem import Problem, Reference
from daedalus.sims.base import check_option
from daedalus.space import Choice, Real, Space, Value

GRADES = ("HSS", "carbide", "coated_carbide", "ceramic")
TAYLOR_N = {"HSS": 0.125, "carbide": 0.25, "coated_carbide": 0.25, "ceramic": 0.6}
TAYLOR_C_M_MIN = {"HSS": 70.0, "carbide": 500.0, "coated_carbide": 700.0, "ceramic": 3000.0}
FEED_EXPONENT = 0.6
DEPTH_EXPONENT = 0.15
REFERENCE_FEED_MM_REV = 0.25
REFERENCE_DEPTH_MM = 2.0
SPECIFIC_CUTTING_FORCE_N_MM2 = 2000.0

# Tool wear (our own assumptions, see the module docstring).
WEAR_CRITERION_MM = 0.3  # ISO 3685 flank wear life criterion VB
WEAR_CAP_MM = 0.6
WEAR_ROUGHNESS_GAIN = 1.0  # Ra x (1 + gain VB / criterion)
WEAR_FORCE_GAIN = 0.5  # Kc x (1 + gain VB / criterion)

# The job and the shop (our own choices, see the module docstring).
EDGE_COST_USD = {"HSS": 1.0, "carbide": 3.0, "coated_carbide": 4.0, "ceramic": 6.0}
MACHINE_RATE_USD_MIN = 1.0
HANDLING_TIME_MIN = 1.5
TOOL_CHANGE_TIME_MIN = 2.0
BAR_DIAMETER_MM = 100.0
CUT_LENGTH_MM = 300.0
RADIAL_STOCK_MM = 4.0
NOSE_RADIUS_MM = 0.8
ROUGHNESS_SPEC_UM = 3.2
LATHE_RATING_KW = 15.0
STALL_POWER_KW = 18.0
TOOL_LIFE_CV = 0.3
STALL_AFTER_S = 5.0

SPEED_BOUNDS_M_MIN = (20.0, 1500.0)
FEED_BOUNDS_MM_REV = (0.05, 0.5)
DEPTH_BOUNDS_MM = (0.5, RADIAL_STOCK_MM)


def stock_volume_mm3() -> float:
    """Return the volume of stock removed per part, mm^3."""
    final_mm = BAR_DIAMETER_MM - 2.0 * RADIAL_STOCK_MM
    return math.pi / 4.0 * (BAR_DIAMETER_MM**2 - final_mm**2) * CUT_LENGTH_MM


def taylor_constant_m_min(grade: str, feed_mm_rev: float, depth_mm: float) -> float:
    """Return C(f, d), the speed (m/min) that gives a one-minute tool life at this feed/depth."""
    feed_factor = math.pow(REFERENCE_FEED_MM_REV / feed_mm_rev, FEED_EXPONENT)
    depth_factor = math.pow(REFERENCE_DEPTH_MM / depth_mm, DEPTH_EXPONENT)
    return TAYLOR_C_M_MIN[grade] * feed_factor * depth_factor


def tool_life_min(grade: str, speed_m_min: float, feed_mm_rev: float, depth_mm: float) -> float:
    """Return the expected tool life T (min of cutting) from the extended Taylor equation."""
    ratio = taylor_constant_m_min(grade, feed_mm_rev, depth_mm) / speed_m_min
    return math.pow(ratio, 1.0 / TAYLOR_N[grade])


def machining_time_min(speed_m_min: float, feed_mm_rev: float, depth_mm: float) -> float:
    """Return the cutting time per part (min): the stock volume over the removal rate V f d."""
    return stock_volume_mm3() / (1000.0 * speed_m_min * feed_mm_rev * depth_mm)


def roughness_um(feed_mm_rev: float) -> float:
    """Return the ideal arithmetic-mean roughness Ra = f^2 / (32 r), in micrometres."""
    return 1000.0 * feed_mm_rev**2 / (32.0 * NOSE_RADIUS_MM)


def cutting_power_kw(
    speed_m_min: float,
    feed_mm_rev: float,
    depth_mm: float,
    *,
    kc_n_mm2: float = SPECIFIC_CUTTING_FORCE_N_MM2,
) -> float:
    """Return the cutting power P = Kc f d V / 60,000 in kW."""
    return kc_n_mm2 * feed_mm_rev * depth_mm * speed_m_min / 60_000.0


def cost_per_part_usd(
    grade: str,
    speed_m_min: float,
    feed_mm_rev: float,
    depth_mm: float,
    *,
    handling_time_min: float = HANDLING_TIME_MIN,
) -> float:
    """Return Gilbert's cost per part: Co (Th + Tm) + (Co Tt + Ct) Tm / T, in USD."""
    tm = machining_time_min(speed_m_min, feed_mm_rev, depth_mm)
    life = tool_life_min(grade, speed_m_min, feed_mm_rev, depth_mm)
    per_edge = MACHINE_RATE_USD_MIN * TOOL_CHANGE_TIME_MIN + EDGE_COST_USD[grade]
    return MACHINE_RATE_USD_MIN * (handling_time_min + tm) + per_edge * tm / life


def time_per_part_min(
    grade: str,
    speed_m_min: float,
    feed_mm_rev: float,
    depth_mm: float,
    *,
    handling_time_min: float = HANDLING_TIME_MIN,
) -> float:
    """Return Gilbert's time per part: Th + Tm + Tt Tm / T, in minutes."""
    tm = machining_time_min(speed_m_min, feed_mm_rev, depth_mm)
    life = tool_life_min(grade, speed_m_min, feed_mm_rev, depth_mm)
    return handling_time_min + tm + TOOL_CHANGE_TIME_MIN * tm / life


def min_cost_tool_life_min(grade: str) -> float:
    """Return Gilbert's minimum-cost tool life T* = (1/n - 1) (Co Tt + Ct) / Co, in minutes."""
    per_edge = MACHINE_RATE_USD_MIN * TOOL_CHANGE_TIME_MIN + EDGE_COST_USD[grade]
    return (1.0 / TAYLOR_N[grade] - 1.0) * per_edge / MACHINE_RATE_USD_MIN


def min_cost_speed_m_min(grade: str, feed_mm_rev: float, depth_mm: float) -> float:
    """Return the minimum-cost cutting speed V* = C(f, d) / T*^n (m/min), power ignored."""
    life = min_cost_tool_life_min(grade)
    return taylor_constant_m_min(grade, feed_mm_rev, depth_mm) / math.pow(life, TAYLOR_N[grade])


def max_rate_speed_m_min(grade: str, feed_mm_rev: float, depth_mm: float) -> float:
    """Return the minimum-time cutting speed, from T = (1/n - 1) Tt (m/min)."""
    life = (1.0 / TAYLOR_N[grade] - 1.0) * TOOL_CHANGE_TIME_MIN
    return taylor_constant_m_min(grade, feed_mm_rev, depth_mm) / math.pow(life, TAYLOR_N[grade])


def power_limited_speed_m_min(
    feed_mm_rev: float, depth_mm: float, *, power_kw: float = LATHE_RATING_KW
) -> float:
    """Return the speed (m/min) at which the cut draws `power_kw` at this feed and depth."""
    return power_kw * 60_000.0 / (SPECIFIC_CUTTING_FORCE_N_MM2 * feed_mm_rev * depth_mm)


def max_feed_for_spec_mm_rev(spec_um: float = ROUGHNESS_SPEC_UM) -> float:
    """Return the largest feed (mm/rev) whose ideal roughness meets `spec_um`."""
    return math.sqrt(spec_um / 1000.0 * 32.0 * NOSE_RADIUS_MM)


def _design(params: Mapping[str, Value]) -> tuple[str, float, float, float]:
    return (
        str(params["tool_grade"]),
        float(params["cutting_speed_m_min"]),
        float(params["feed_mm_rev"]),
        float(params["depth_mm"]),
    )


def turning_model(params: Mapping[str, Value]) -> dict[str, float]:
    """Return the noiseless, failure-free outcome of one design.

    Returns:
        `cost_usd` and `time_min` per part, `roughness_um` (Ra), `power_kw` (cutting power),
        `tool_life_min` (expected, T) and `machining_time_min` (Tm).
    """
    grade, speed, feed, depth = _design(params)
    return {
        "cost_usd": cost_per_part_usd(grade, speed, feed, depth),
        "time_min": time_per_part_min(grade, speed, feed, depth),
        "roughness_um": roughness_um(feed),
        "power_kw": cutting_power_kw(speed, feed, depth),
        "tool_life_min": tool_life_min(grade, speed, feed, depth),
        "machining_time_min": machining_time_min(speed, feed, depth),
    }


def _lognormal_cdf(ratio: float, cv: float) -> float:
    """P(X < ratio) for a lognormal X with mean 1 and coefficient of variation `cv`."""
    sigma = math.sqrt(math.log1p(cv**2))
    z = (math.log(ratio) + sigma**2 / 2.0) / sigma
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def edge_break_probability(params: Mapping[str, Value], *, cv: float = TOOL_LIFE_CV) -> float:
    """Return the chance that the edge breaks during this part. OUR OWN ASSUMPTION (see the
    module docstring): `P(life < T) Tm / T` when Tm <= T, else `P(life < Tm)`."""
    out = turning_model(params)
    life, tm = out["tool_life_min"], out["machining_time_min"]
    if tm <= life:
        return _lognormal_cdf(1.0, cv) * tm / life
    return _lognormal_cdf(tm / life, cv)


def reference_design() -> tuple[float, dict[str, Value]]:
    """Return the minimum noiseless cost per part within the roughness spec and the power
    rating, and its design (closed form, see the module docstring)."""
    feed = min(max_feed_for_spec_mm_rev(), FEED_BOUNDS_MM_REV[1])
    depth = DEPTH_BOUNDS_MM[1]
    candidates = []
    for grade in GRADES:
        speed = min(
            min_cost_speed_m_min(grade, feed, depth), power_limited_speed_m_min(feed, depth)
        )
        speed = min(max(speed, SPEED_BOUNDS_M_MIN[0]), SPEED_BOUNDS_M_MIN[1])
        cost = cost_per_part_usd(grade, speed, feed, depth)
        candidates.append((cost, _params(grade, speed, feed, depth)))
    return min(candidates, key=lambda item: item[0])


def _params(grade: str, speed: float, feed: float, depth: float) -> dict[str, Value]:
    return {
        "cutting_speed_m_min": speed,
        "feed_mm_rev": feed,
        "depth_mm": depth,
        "tool_grade": grade,
    }


@lru_cache(maxsize=1)
def turning_space() -> Space:
    """Return the design space; speed is searched on a log scale (grades differ 30-fold)."""
    return Space(
        [
            Real("cutting_speed_m_min", *SPEED_BOUNDS_M_MIN, log=True),
            Real("feed_mm_rev", *FEED_BOUNDS_MM_REV),
            Real("depth_mm", *DEPTH_BOUNDS_MM),
            Choice("tool_grade", GRADES),
        ]
    )


@lru_cache(maxsize=1)
def turning_problem() -> Problem:
    """Return the turning Problem: minimise cost per part within the Ra spec and power rating."""
    cost, params = reference_design()
    units = {
        "cutting_speed_m_min": "m/min",
        "feed_mm_rev": "mm/rev",
        "depth_mm": "mm (depth of cut per pass)",
        "tool_grade": "one of HSS, carbide, coated_carbide, ceramic",
        "cost_usd": "USD per part",
        "time_min": "min per part",
        "roughness_um": "um (Ra)",
        "power_kw": "kW (cutting power)",
    }
    source = (
        "closed form (daedalus.sims.turning.reference_design): feed at the Ra limit "
        f"{params['feed_mm_rev']:.4f} mm/rev, depth {params['depth_mm']:g} mm, speed "
        "min(Gilbert V*, 15 kW speed) per grade, best grade; Taylor 1907, Gilbert 1950, Groover"
    )
    return Problem(
        name="turning",
        space=turning_space(),
        goal=Goal(
            Minimize("cost_usd"),
            constraints=[
                f"roughness_um <= {ROUGHNESS_SPEC_UM:g}",
                f"power_kw <= {LATHE_RATING_KW:g}",
            ],
        ),
        reference=Reference(value=cost, params=params, source=source),
        units=units,
        description="CNC turning of a steel bar (100 -> 92 mm over 300 mm) on a 15 kW lathe: "
        "extended Taylor tool life and Gilbert's cost per part, Ra <= 3.2 um.",
    )


class TurningLathe:
    """A CNC lathe turning one part per experiment, as a seeded `Simulator`.

    Args:
        noise: relative standard deviation of the handling time, the bar's Kc and the Ra
            reading; 0 is noiseless.
        failures: False switches off edge breaks and spindle stalls.
        tool_life_cv: coefficient of variation of an edge's life (lognormal, mean T).
        wear_mm_per_h: growth of the flank wear land with campaign time, mm per hour; 0 (the
            default) is an edge that does not wear (module docstring).

    Raises:
        InvalidCampaign: an option is out of range.
    """

    def __init__(
        self,
        *,
        noise: float = 0.05,
        failures: bool = True,
        tool_life_cv: float = TOOL_LIFE_CV,
        wear_mm_per_h: float = 0.0,
    ) -> None:
        if not isinstance(failures, bool):
            raise InvalidCampaign(f"TurningLathe: failures must be True or False, got {failures!r}")
        self.noise = check_option("TurningLathe", "noise", noise, high=0.5)
        self.failures = failures
        self.tool_life_cv = check_option("TurningLathe", "tool_life_cv", tool_life_cv, high=2.0)
        if self.tool_life_cv == 0.0:
            raise InvalidCampaign(
                "TurningLathe: tool_life_cv must be > 0, got 0; use failures=False to switch "
                "edge breaks off"
            )
        self.wear_mm_per_h = check_option("TurningLathe", "wear_mm_per_h", wear_mm_per_h, high=1.0)
        self.problem: Problem = turning_problem()

    @property
    def clocked(self) -> bool:
        """Whether readings depend on campaign time (tool wear is on)."""
        return self.wear_mm_per_h > 0.0

    def flank_wear_mm(self, at_s: float) -> float:
        """The flank wear land VB at campaign time `at_s` (s), in mm."""
        return min(self.wear_mm_per_h * max(at_s, 0.0) / 3600.0, WEAR_CAP_MM)

    def __repr__(self) -> str:
        wear = f", wear_mm_per_h={self.wear_mm_per_h}" if self.clocked else ""
        return (
            f"TurningLathe(noise={self.noise}, failures={self.failures}, "
            f"tool_life_cv={self.tool_life_cv}{wear})"
        )

    def evaluate(self, params: Mapping[str, Value], *, seed: int, at_s: float = 0.0) -> Evaluation:
        """Machine one simulated part started at campaign time `at_s` (s); same params, seed
        and start time, same result. Only tool wear depends on `at_s`.

        Raises:
            InvalidParams: `params` does not fit the space.
        """
        clean = self.problem.space.validate(params)
        rng = np.random.default_rng(seed)
        # Always draw every number, so the noise of a seed is the same with failures off.
        u_break, u_when = rng.random(2)
        z_handling, z_kc, z_ra = rng.standard_normal(3)
        grade, speed, feed, depth = _design(clean)
        handling_min = HANDLING_TIME_MIN * max(1.0 + self.noise * z_handling, 0.0)
        kc = SPECIFIC_CUTTING_FORCE_N_MM2 * max(1.0 + self.noise * z_kc, 0.0)
        wear = self.flank_wear_mm(at_s) / WEAR_CRITERION_MM if self.clocked else 0.0
        if wear:
            kc *= 1.0 + WEAR_FORCE_GAIN * wear
        power = cutting_power_kw(speed, feed, depth, kc_n_mm2=kc)
        if self.failures:
            failure = self._failure(clean, power, handling_min, (u_break, u_when))
            if failure is not None:
                return failure
        time_min = time_per_part_min(grade, speed, feed, depth, handling_time_min=handling_min)
        values = {
            "cost_usd": cost_per_part_usd(
                grade, speed, feed, depth, handling_time_min=handling_min
            ),
            "time_min": time_min,
            "roughness_um": roughness_um(feed) * max(1.0 + self.noise * z_ra, 0.0),
            "power_kw": power,
        }
        if wear:
            values["roughness_um"] *= 1.0 + WEAR_ROUGHNESS_GAIN * wear
        return Outcome(values=values, duration_s=60.0 * time_min)

    def _failure(
        self,
        params: Mapping[str, Value],
        power_kw: float,
        handling_min: float,
        draws: tuple[float, float],
    ) -> Failure | None:
        u_break, u_when = draws
        if power_kw > STALL_POWER_KW:
            reason = (
                f"spindle stalled: the cut needs {power_kw:.1f} kW, above the lathe's "
                f"{STALL_POWER_KW:g} kW short-time rating"
            )
            return Failure(Cause.INFEASIBLE, reason, duration_s=60.0 * handling_min + STALL_AFTER_S)
        if u_break < edge_break_probability(params, cv=self.tool_life_cv):
            tm = turning_model(params)["machining_time_min"]
            at_min = u_when * tm
            reason = (
                f"{params['tool_grade']} edge broke {at_min:.2f} min into the cut, before its "
                "expected life: part scrapped"
            )
            return Failure(Cause.INFEASIBLE, reason, duration_s=60.0 * (handling_min + at_min))
        return None


__all__ = [
    "GRADES",
    "TurningLathe",
    "cost_per_part_usd",
    "cutting_power_kw",
    "edge_break_probability",
    "machining_time_min",
    "max_feed_for_spec_mm_rev",
    "max_rate_speed_m_min",
    "min_cost_speed_m_min",
    "min_cost_tool_life_min",
    "power_limited_speed_m_min",
    "reference_design",
    "roughness_um",
    "stock_volume_mm3",
    "taylor_constant_m_min",
    "time_per_part_min",
    "tool_life_min",
    "turning_model",
    "turning_problem",
    "turning_space",
]
