"""Robot pick cell: a two-finger parallel gripper lifts a box, simulated in MuJoCo.

Physics: MuJoCo (Todorov, Erez, Tassa, "MuJoCo: a physics engine for model-based control",
IROS 2012, doi:10.1109/IROS.2012.6386109), `mujoco` 4.0.0 on PyPI (Apache-2.0), soft contacts
with elliptic friction cones, impedance ratio 10 and a 2 ms step. The model is our own MJCF,
built from primitives (`GRIPPER_MJCF`): a table plane; a palm on a vertical slide joint driven by
a stiff position servo; two fingers on horizontal slide joints, each driven by a position servo
whose `forcerange` is the grip force, with a 20 x 6 mm pad at the tip carrying a touch sensor;
and a free 40 x 40 x 30 mm box. The pads' friction wins every pad-box contact (`priority`), so
the contact friction coefficient is exactly the pad's.

One episode is an open-loop script: descend in 0.6 s (minimum-jerk) until the pad centres are
`approach_height_mm` above the box centre; close both fingers at 100 mm/s for 0.8 s (each servo
then presses with its force limit); lift 50 mm along a minimum-jerk profile (Flash & Hogan,
J. Neurosci. 1985, 5, 1688-1703) of duration `T = D / v` (D = 50 mm, v = `lift_speed_mm_s`),
whose peak acceleration is `5.77 D / T^2 = 5.77 v^2 / D`; hold 0.5 s. Gravity compensation
holds the gripper's own weight, as a robot controller does.

The reference physics is Coulomb friction at two opposed contacts: the box stays in the fingers
while `2 mu F >= m (g + a)`, i.e. the smallest grip force is

    F_min = m (g + a) / (2 mu)                       (`coulomb_grip_force_n`)

Measured with this model (noise off, 10 mm/s lift, bisection on the grip force): the success
threshold is within 0.2 % of `m g / (2 mu)`, e.g. 0.7057 N for mu 0.8 and 1.8821 N for mu 0.3 at
0.115 kg (a prototype in our research notes found the transition at 0.71 N and 1.88 N), 0.3927 N
for mu 1.0 at 0.08 kg, 0.9206 N for mu 0.8 at 0.15 kg. Faster lifts need more force: the
threshold rises by 2 % at 50 mm/s, 7 % at 100 mm/s and 23 % at 200 mm/s (the Coulomb bound with
the profile's peak acceleration predicts 3 %, 12 % and 47 %; the palm servo smooths the peak).

Outcomes, from the simulated physics:

- miss: after closing, a pad does not touch the box (the fingers closed above it). The box top is
  15 mm above its centre and the pads are 6 mm tall, so every approach from 18 mm up misses.
- slip: the box ends the hold more than `SLIP_LIMIT_MM` (5 mm) below where the fingers carried
  it (it stayed on the table or slid out during the lift). Between about 17 and 18 mm the pads
  catch only the top edge of the box: it mostly slips out, and the edge contact can spike the
  pad force into a crush.
- success: anything else.

OUR OWN ASSUMPTIONS, not from a source:

- Pad friction table (`PAD_FRICTION`): rubber 1.0, silicone 0.8, polyurethane 0.6, aluminium 0.3:
  representative static coefficients of a pad material on a dry cardboard or plastic box.
- Per seed, the object varies: its mass ~ U(0.08, 0.15) kg, its friction ~ the pad's times
  U(0.8, 1.2), and its position along the squeeze axis ~ N(0, 8 mm) clipped to +-15 mm (the
  vision estimate's error; the fingers open 100 mm apart). Offsets across the pads are left out:
  a lateral offset puts the centre of mass off the grasp line and costs grip force (+27 % at
  5 mm, measured), which the two-contact Coulomb bound does not cover.
- Crush: the object is fragile; a pick fails as crushed when a pad's measured normal force
  exceeds `crush_limit_n` (5 N by default, like an egg or a thin-walled cup) while the fingers
  close. The pads overshoot the grip force on impact (by up to about 11 % at 1 N, under 1 % at
  5 N), so a grip just below the limit can crush too.
- Guarded descent: the arm never drives the pads into the table; an approach lower than 11 mm
  below the box centre stops with the pads 1 mm above the table.
- Measurement noise: the reported squeeze force (force sensor) and lift height (vision) carry a
  relative Gaussian error of sd `noise`.
- Duration: the episode's simulated seconds plus `reset_s` (10 s: release, return the object to
  its fixture, home the arm). A miss ends after closing, a crush at the moment of the overload.
- Every failure is `Cause.INFEASIBLE` (the design fails); there is no transient fault.

Goal: minimise the measured squeeze force (`squeeze_force_n`, the mean pad normal force during
the hold) subject to a successful pick. A slip, miss or crush is a `Failure` whose reason starts
with the mode; with `failures=False` it comes back as an outcome with `success` 0, which the
goal's constraint `success >= 0.5` marks infeasible.

Reference: the smallest grip force that lifts every object of the seed distribution, with the
best pad (rubber) at the slowest lift. That is the Coulomb bound of the design case
(`DESIGN_CASE`: 0.15 kg at friction scale 0.8, the heaviest and least grippy box, which
`randomize=False` always picks), 0.15 * (9.81 + 0.0115) / (2 * 0.8) = 0.921 N
(`reference_grip_force_n`; 0.0115 m/s^2 is the peak acceleration of the 10 mm/s lift). Put
another way: the bound of the mean object (0.115 kg, mu 1.0: 0.564 N) times a safety factor of
1.630 = (0.15 / 0.115) / 0.8, times 1.0012 for the lift. The noise-free design case slips below
0.9206 N in the simulation, 0.02 % under the reference. Single picks of a light, grippy object
succeed below it (down to about 0.33 N), so the best single observation of a randomised
campaign may beat the reference: it is the robust design, not a lower bound on single picks.

MuJoCo is imported on first use, not at module import. Before that first import the module sets
the environment variable `MUJOCO_GL=egl` if it is unset, so the optional camera renders
offscreen on the CPU (Mesa llvmpipe); set `MUJOCO_GL` yourself before importing to choose
another backend.
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from daedalus.errors import InvalidCampaign
from daedalus.events import Cause
from daedalus.goal import Goal, Minimize
from daedalus.machines.base import Evaluation, Failure, Outcome
from daedalus.problem import Problem, Reference
from daedalus.space import Choice, Real, Space, Value

FloatArray = npt.NDArray[np.float64]

GRAVITY_M_S2 = 9.81
TIMESTEP_S = 0.002

# Geometry (m) of the model below.
BOX_HALF_WIDTH_M = 0.020
BOX_HALF_HEIGHT_M = 0.015
PAD_HALF_HEIGHT_M = 0.003
PAD_BELOW_PALM_M = 0.087  # pad centre below the palm's origin
PALM_START_M = 0.200
FINGER_TARGET_M = 0.060  # closing target past the fully closed stop: the force limit rules
TABLE_CLEARANCE_M = 0.001

# The script (s, m/s, m).
DESCENT_S = 0.6
CLOSE_S = 0.8
CLOSING_SPEED_M_S = 0.1
HOLD_S = 0.5
LIFT_DISTANCE_M = 0.050
MIN_JERK_PEAK_ACCELERATION = 10.0 / math.sqrt(3.0)  # a_peak = this * D / T^2

# Outcome rules.
SLIP_LIMIT_MM = 5.0
SLOWEST_LIFT_MM_S = 10.0

# Our own assumptions (see the module docstring).
PAD_FRICTION: dict[str, float] = {
    "rubber": 1.0,
    "silicone": 0.8,
    "polyurethane": 0.6,
    "aluminium": 0.3,
}
MASS_RANGE_KG = (0.08, 0.15)
FRICTION_SCALE_RANGE = (0.8, 1.2)
OFFSET_SD_MM = 8.0
OFFSET_LIMIT_MM = 15.0
CRUSH_LIMIT_N = 5.0
RESET_S = 10.0
NOISE = 0.02

GRIPPER_MJCF = """
<mujoco model="daedalus-gripper">
  <option timestep="{timestep}" cone="elliptic" impratio="10" gravity="0 0 -{gravity}"/>
  <visual><global offwidth="640" offheight="480"/></visual>
  <worldbody>
    <light pos="0 -0.3 0.6" dir="0 0.4 -1"/>
    <camera name="side" pos="0 -0.36 0.12" xyaxes="1 0 0 0 0.25 1"/>
    <geom name="table" type="plane" size="0.5 0.5 0.01" friction="0.5 0.005 0.0001"
          rgba="0.8 0.8 0.8 1"/>
    <body name="palm" pos="0 0 {palm_z}" gravcomp="1">
      <joint name="lift" type="slide" axis="0 0 1"/>
      <geom name="palm" type="box" size="0.07 0.015 0.01" mass="0.3" contype="0" conaffinity="0"
            rgba="0.3 0.3 0.35 1"/>
      <body name="left" pos="-0.06 0 0" gravcomp="1">
        <joint name="left" type="slide" axis="1 0 0" range="0 0.046" damping="2"
               solreflimit="0.005 1"/>
        <geom type="box" size="0.004 0.01 0.04" pos="0 0 -0.05" mass="0.03" contype="0"
              conaffinity="0" rgba="0.3 0.3 0.35 1"/>
        <geom name="left_pad" type="box" size="0.003 0.01 {pad}" pos="0.007 0 -{pad_z}"
              mass="0.005" priority="1" friction="{mu} 0.005 0.0001" rgba="0.1 0.1 0.1 1"/>
        <site name="left_pad" type="box" size="0.0045 0.0115 {pad_site}" pos="0.007 0 -{pad_z}"
              rgba="0 0 0 0"/>
      </body>
      <body name="right" pos="0.06 0 0" gravcomp="1">
        <joint name="right" type="slide" axis="-1 0 0" range="0 0.046" damping="2"
               solreflimit="0.005 1"/>
        <geom type="box" size="0.004 0.01 0.04" pos="0 0 -0.05" mass="0.03" contype="0"
              conaffinity="0" rgba="0.3 0.3 0.35 1"/>
        <geom name="right_pad" type="box" size="0.003 0.01 {pad}" pos="-0.007 0 -{pad_z}"
              mass="0.005" priority="1" friction="{mu} 0.005 0.0001" rgba="0.1 0.1 0.1 1"/>
        <site name="right_pad" type="box" size="0.0045 0.0115 {pad_site}" pos="-0.007 0 -{pad_z}"
              rgba="0 0 0 0"/>
      </body>
    </body>
    <body name="box" pos="{box_x} 0 {box_hz}">
      <freejoint/>
      <geom name="box" type="box" size="{box_hw} {box_hw} {box_hz}" mass="{mass}"
            friction="0.5 0.005 0.0001" rgba="0.85 0.6 0.3 1"/>
    </body>
  </worldbody>
  <actuator>
    <position name="lift" joint="lift" kp="5000" kv="200" forcerange="-100 100"/>
    <position name="left" joint="left" kp="1000" kv="20" forcerange="-{force} {force}"/>
    <position name="right" joint="right" kp="1000" kv="20" forcerange="-{force} {force}"/>
  </actuator>
  <sensor>
    <touch name="left_pad" site="left_pad"/>
    <touch name="right_pad" site="right_pad"/>
  </sensor>
</mujoco>
"""


class PickMode(StrEnum):
    """How a pick ended."""

    SUCCESS = "success"
    SLIP = "slip"
    MISS = "miss"
    CRUSH = "crush"


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PickResult:
    """The noiseless result of one simulated pick (see `simulate_pick`).

    Forces in N, lengths in mm, times in simulated s. `mode` is SUCCESS, SLIP or MISS: crushing
    is a rule on `peak_force_n` applied by `pick_mode`. `frames` holds `k x 240 x 320 x 3` uint8
    camera images when they were asked for, else an empty `0 x 0 x 0 x 3` array (so results
    compare by identity, not by value).
    """

    mode: PickMode
    lift_height_mm: float  # rise of the box centre at the end of the hold
    gripper_rise_mm: float  # rise of the pads over the same time
    slip_mm: float  # gripper rise minus box rise
    squeeze_force_n: float  # mean pad normal force over the hold
    peak_force_n: float  # largest normal force on either pad while closing
    closing_force_n: FloatArray  # larger pad normal force at each step up to the lift
    closed_at_s: float  # end of the closing phase
    episode_s: float
    frames: npt.NDArray[np.uint8]


def import_mujoco(*, offscreen: bool = False) -> Any:
    """Import and return the `mujoco` module.

    With `offscreen` (camera frames), on Linux, before MuJoCo's first import and only when the
    variable is unset, sets `MUJOCO_GL=egl` so frames render on the CPU; nothing else in the
    process is touched otherwise.

    Raises:
        ImportError: MuJoCo is not installed or cannot load; the message names the extra.
    """
    if offscreen and sys.platform.startswith("linux") and "mujoco" not in sys.modules:
        os.environ.setdefault("MUJOCO_GL", "egl")
    try:
        import mujoco  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except (ImportError, RuntimeError) as err:
        raise ImportError(
            f"the gripper simulator needs MuJoCo: pip install 'daedalus[robot]' ({err})"
        ) from err
    return mujoco


def coulomb_grip_force_n(
    mass_kg: float, friction: float, *, acceleration_m_s2: float = 0.0
) -> float:
    """Return the smallest grip force (N) with which two opposed pads of friction coefficient
    `friction` hold a box of `mass_kg` accelerating upward at `acceleration_m_s2`."""
    return mass_kg * (GRAVITY_M_S2 + acceleration_m_s2) / (2.0 * friction)


def lift_duration_s(lift_speed_mm_s: float) -> float:
    """Return the duration of the 50 mm lift at mean speed `lift_speed_mm_s`."""
    return 1000.0 * LIFT_DISTANCE_M / lift_speed_mm_s


def peak_lift_acceleration_m_s2(lift_speed_mm_s: float) -> float:
    """Return the peak acceleration of the minimum-jerk lift profile, m/s^2."""
    duration_s = lift_duration_s(lift_speed_mm_s)
    return MIN_JERK_PEAK_ACCELERATION * LIFT_DISTANCE_M / duration_s**2


def episode_duration_s(lift_speed_mm_s: float) -> float:
    """Return the simulated seconds of a full episode: descend, close, lift, hold."""
    return DESCENT_S + CLOSE_S + lift_duration_s(lift_speed_mm_s) + HOLD_S


def grasp_height_m(approach_height_mm: float) -> float:
    """Return the height (m above the table) of the pad centres when the fingers close."""
    wanted_m = BOX_HALF_HEIGHT_M + approach_height_mm / 1000.0
    return max(wanted_m, PAD_HALF_HEIGHT_M + TABLE_CLEARANCE_M)  # guarded descent


def gripper_mjcf(
    *, grip_force_n: float, friction: float, mass_kg: float, offset_x_mm: float = 0.0
) -> str:
    """Return the MJCF text of the cell for one pick."""
    return GRIPPER_MJCF.format(
        timestep=TIMESTEP_S,
        gravity=GRAVITY_M_S2,
        palm_z=PALM_START_M,
        pad=PAD_HALF_HEIGHT_M,
        pad_site=PAD_HALF_HEIGHT_M + 0.0015,
        pad_z=PAD_BELOW_PALM_M,
        mu=friction,
        box_x=offset_x_mm / 1000.0,
        box_hw=BOX_HALF_WIDTH_M,
        box_hz=BOX_HALF_HEIGHT_M,
        mass=mass_kg,
        force=grip_force_n,
    )


def _min_jerk(progress: npt.ArrayLike) -> FloatArray:
    s = np.clip(np.asarray(progress, dtype=np.float64), 0.0, 1.0)
    return np.asarray(s**3 * (10.0 - 15.0 * s + 6.0 * s * s), dtype=np.float64)


def script_controls(approach_height_mm: float, lift_speed_mm_s: float) -> FloatArray:
    """Return the servo targets of one episode, `n_steps x 3` (lift, left, right; m)."""
    t = TIMESTEP_S * np.arange(round(episode_duration_s(lift_speed_mm_s) / TIMESTEP_S))
    palm_grasp_m = grasp_height_m(approach_height_mm) + PAD_BELOW_PALM_M
    lift_start_s = DESCENT_S + CLOSE_S
    descent = (palm_grasp_m - PALM_START_M) * _min_jerk(t / DESCENT_S)
    lift = LIFT_DISTANCE_M * _min_jerk((t - lift_start_s) / lift_duration_s(lift_speed_mm_s))
    fingers = np.clip((t - DESCENT_S) * CLOSING_SPEED_M_S, 0.0, FINGER_TARGET_M)
    return np.column_stack([descent + lift, fingers, fingers])


def _touching(model: Any, data: Any) -> bool:
    """Whether both pads touch the box now."""
    box = model.geom("box").id
    pads = {model.geom("left_pad").id, model.geom("right_pad").id}
    touched = set()
    for contact in data.contact[: data.ncon]:
        pair = {int(contact.geom1), int(contact.geom2)}
        if box in pair:
            touched |= pair & pads
    return touched == pads


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class _Trace:
    touch_n: FloatArray  # n_steps x 2, pad normal forces
    contact: bool  # both pads on the box at the end of closing
    rise_mm: tuple[float, float]  # box, pads: from the end of closing to the end
    frames: npt.NDArray[np.uint8]


def _run(mujoco: Any, model: Any, data: Any, controls: FloatArray, shots: set[int]) -> _Trace:
    """Step through `controls`, one row per step; render at the steps in `shots`."""
    close_end = round((DESCENT_S + CLOSE_S) / TIMESTEP_S)
    touch = np.empty((len(controls), 2))
    images: list[npt.NDArray[np.uint8]] = []
    contact, start = False, (0.0, 0.0)
    renderer = mujoco.Renderer(model, height=240, width=320) if shots else None
    try:
        for i, ctrl in enumerate(controls):
            data.ctrl[:] = ctrl
            mujoco.mj_step(model, data)
            touch[i] = data.sensordata[:2]
            if i == close_end - 1:
                contact = _touching(model, data)
                start = (float(data.body("box").xpos[2]), float(data.site("left_pad").xpos[2]))
            if renderer is not None and i in shots:
                renderer.update_scene(data, camera="side")
                images.append(np.array(renderer.render(), dtype=np.uint8))
    finally:
        if renderer is not None:
            renderer.close()
    end = (float(data.body("box").xpos[2]), float(data.site("left_pad").xpos[2]))
    return _Trace(
        touch_n=touch,
        contact=contact,
        rise_mm=(1000.0 * (end[0] - start[0]), 1000.0 * (end[1] - start[1])),
        frames=np.stack(images) if images else np.zeros((0, 0, 0, 3), dtype=np.uint8),
    )


def simulate_pick(
    *,
    grip_force_n: float,
    approach_height_mm: float,
    lift_speed_mm_s: float,
    friction: float,
    mass_kg: float,
    offset_x_mm: float = 0.0,
    frames: bool = False,
) -> PickResult:
    """Run one noiseless pick in MuJoCo and classify it as success, slip or miss.

    Args:
        grip_force_n: force limit of each finger servo, N.
        approach_height_mm: pad centres above the box centre when the fingers close, mm.
        lift_speed_mm_s: mean speed of the 50 mm lift, mm/s.
        friction: pad-box friction coefficient.
        mass_kg: box mass.
        offset_x_mm: box position along the squeeze axis, mm from the gripper's axis.
        frames: render three 320 x 240 camera frames (after closing, mid-lift, end of hold).

    Raises:
        ImportError: MuJoCo is not installed.
    """
    mujoco = import_mujoco(offscreen=frames)
    xml = gripper_mjcf(
        grip_force_n=grip_force_n, friction=friction, mass_kg=mass_kg, offset_x_mm=offset_x_mm
    )
    model = mujoco.MjModel.from_xml_string(xml)
    controls = script_controls(approach_height_mm, lift_speed_mm_s)
    n_steps, close_end = len(controls), round((DESCENT_S + CLOSE_S) / TIMESTEP_S)
    hold_start = n_steps - round(HOLD_S / TIMESTEP_S)
    shots = {close_end - 1, (close_end + hold_start) // 2, n_steps - 1} if frames else set()
    trace = _run(mujoco, model, mujoco.MjData(model), controls, shots)
    box_rise_mm, pads_rise_mm = trace.rise_mm
    slip_mm = pads_rise_mm - box_rise_mm
    if not trace.contact:
        mode = PickMode.MISS
    else:
        mode = PickMode.SLIP if slip_mm > SLIP_LIMIT_MM else PickMode.SUCCESS
    closing = trace.touch_n[:close_end].max(axis=1)  # crushing happens in the squeeze
    return PickResult(
        mode=mode,
        lift_height_mm=box_rise_mm,
        gripper_rise_mm=pads_rise_mm,
        slip_mm=slip_mm,
        squeeze_force_n=float(trace.touch_n[hold_start:].mean()),
        peak_force_n=float(closing.max()),
        closing_force_n=closing,
        closed_at_s=close_end * TIMESTEP_S,
        episode_s=n_steps * TIMESTEP_S,
        frames=trace.frames,
    )


def overload_time_s(result: PickResult, *, crush_limit_n: float) -> float | None:
    """Return when a pad force first exceeded `crush_limit_n` (simulated s), None if never."""
    over = np.flatnonzero(result.closing_force_n > crush_limit_n)
    return None if len(over) == 0 else float((over[0] + 1) * TIMESTEP_S)


def pick_mode(result: PickResult, *, crush_limit_n: float) -> PickMode:
    """Return the pick's mode with the crush rule (OUR ASSUMPTION) applied on top."""
    if result.mode is not PickMode.MISS and result.peak_force_n > crush_limit_n:
        return PickMode.CRUSH
    return result.mode


@dataclass(frozen=True, slots=True, kw_only=True)
class PickObject:
    """The object of one pick: mass, friction scale (times the pad's coefficient), offset."""

    mass_kg: float
    friction_scale: float
    offset_x_mm: float = 0.0


# The object the reference is computed for: the heaviest, least grippy box of the distribution.
DESIGN_CASE = PickObject(mass_kg=MASS_RANGE_KG[1], friction_scale=FRICTION_SCALE_RANGE[0])


def draw_object(rng: np.random.Generator, *, randomize: bool = True) -> PickObject:
    """Draw the object of one seed (OUR ASSUMPTION); `DESIGN_CASE` when not `randomize`.

    Always consumes the same draws, so the noise of a seed does not depend on `randomize`.
    """
    u_mass, u_friction = rng.random(2)
    offset_mm = float(
        np.clip(OFFSET_SD_MM * rng.standard_normal(), -OFFSET_LIMIT_MM, OFFSET_LIMIT_MM)
    )
    if not randomize:
        return DESIGN_CASE
    low_m, high_m = MASS_RANGE_KG
    low_f, high_f = FRICTION_SCALE_RANGE
    return PickObject(
        mass_kg=float(low_m + (high_m - low_m) * u_mass),
        friction_scale=float(low_f + (high_f - low_f) * u_friction),
        offset_x_mm=offset_mm,
    )


def reference_grip_force_n() -> float:
    """Return the robust minimum grip force, N: the Coulomb bound for `DESIGN_CASE` (the
    heaviest object at the lowest friction scale) with rubber pads, including the peak
    acceleration of the slowest lift."""
    return coulomb_grip_force_n(
        DESIGN_CASE.mass_kg,
        PAD_FRICTION["rubber"] * DESIGN_CASE.friction_scale,
        acceleration_m_s2=peak_lift_acceleration_m_s2(SLOWEST_LIFT_MM_S),
    )


@lru_cache(maxsize=1)
def gripper_space() -> Space:
    """Return the design space of the pick."""
    return Space(
        [
            Real("grip_force_n", 0.1, 10.0),
            Real("approach_height_mm", -20.0, 30.0),
            Real("lift_speed_mm_s", SLOWEST_LIFT_MM_S, 200.0),
            Choice("pad_material", tuple(PAD_FRICTION)),
        ]
    )


@lru_cache(maxsize=1)
def gripper_problem() -> Problem:
    """Return the pick Problem: minimise the squeeze force of a successful pick."""
    slowest_s2 = peak_lift_acceleration_m_s2(SLOWEST_LIFT_MM_S)
    reference = Reference(
        value=reference_grip_force_n(),
        params={
            "grip_force_n": reference_grip_force_n(),
            "approach_height_mm": 0.0,
            "lift_speed_mm_s": SLOWEST_LIFT_MM_S,
            "pad_material": "rubber",
        },
        source=(
            "closed form: Coulomb two-finger bound m (g + a) / (2 mu) for the design-case "
            "object (0.15 kg, friction scale 0.8, rubber pads: mu 0.8), i.e. the mean object's "
            "bound (0.115 kg, mu 1.0) times safety factor (0.15 / 0.115) / 0.8 = 1.630, with "
            f"a = {slowest_s2:.4f} m/s^2, the peak acceleration of the slowest lift"
        ),
    )
    units = {
        "grip_force_n": "N (force limit of each finger)",
        "approach_height_mm": "mm (pad centres above the box centre when closing)",
        "lift_speed_mm_s": "mm/s (mean speed of the 50 mm lift)",
        "pad_material": "pad material (friction table, our assumption)",
        "squeeze_force_n": "N (mean pad normal force while holding)",
        "success": "1 (1 when the pick succeeded, else 0)",
    }
    return Problem(
        name="gripper",
        space=gripper_space(),
        goal=Goal(Minimize("squeeze_force_n"), constraints=["success >= 0.5"]),
        reference=reference,
        units=units,
        description="Two-finger parallel gripper picking a fragile box in MuJoCo: the gentlest "
        "grip that lifts it without slip, miss or crush.",
    )


def _check_number(name: str, value: object, *, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidCampaign(f"GripperCell: {name} must be a number, got {value!r}")
    if not (math.isfinite(value) and low <= value <= high):
        raise InvalidCampaign(
            f"GripperCell: {name} must lie in [{low}, {high}], got {value!r}; pick a value inside"
        )
    return float(value)


def _check_flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidCampaign(f"GripperCell: {name} must be True or False, got {value!r}")
    return value


class GripperCell:
    """The pick cell as a seeded `Simulator`: MuJoCo physics, random objects, failures.

    Args:
        noise: relative standard deviation of the reported squeeze force and lift height.
        failures: False reports slips, misses and crushes as outcomes with `success` 0 instead
            of failures (the crush rule is then off), e.g. to fit a success model.
        randomize: False picks `DESIGN_CASE` every time, the object the reference is computed
            for: 0.15 kg, friction scale 0.8, centred (the heaviest, least grippy box).
        crush_limit_n: pad force above which the fragile object breaks, N.
        reset_s: time to release, return the object and home the arm, added to every pick.
        camera: render three 320 x 240 frames per pick (after closing, mid-lift, end of hold)
            and save them as a `.npz` file (array `frames`, `3 x 240 x 320 x 3` uint8) whose
            path goes into `Outcome.raw["frames"]`; a `Failure` has no raw data, so failed
            picks keep no frames.
        frames_dir: directory for the frame files (a fresh temporary directory when None).

    Raises:
        InvalidCampaign: an option is of the wrong type or out of range.
        ImportError: MuJoCo is not installed (at the first `evaluate`).
    """

    def __init__(
        self,
        *,
        noise: float = NOISE,
        failures: bool = True,
        randomize: bool = True,
        crush_limit_n: float = CRUSH_LIMIT_N,
        reset_s: float = RESET_S,
        camera: bool = False,
        frames_dir: str | None = None,
    ) -> None:
        self.noise = _check_number("noise", noise, low=0.0, high=1.0)
        self.failures = _check_flag("failures", failures)
        self.randomize = _check_flag("randomize", randomize)
        self.crush_limit_n = _check_number("crush_limit_n", crush_limit_n, low=0.1, high=1000.0)
        self.reset_s = _check_number("reset_s", reset_s, low=0.0, high=3600.0)
        self.camera = _check_flag("camera", camera)
        import_mujoco(offscreen=self.camera)  # a missing extra fails here, not mid-campaign
        if frames_dir is not None and not isinstance(frames_dir, str):
            raise InvalidCampaign(
                f"GripperCell: frames_dir must be a directory path or None, got {frames_dir!r}"
            )
        self.frames_dir = frames_dir
        self.problem: Problem = gripper_problem()

    def __repr__(self) -> str:
        return (
            f"GripperCell(noise={self.noise}, failures={self.failures}, "
            f"randomize={self.randomize}, crush_limit_n={self.crush_limit_n}, "
            f"reset_s={self.reset_s}, camera={self.camera})"
        )

    def evaluate(self, params: Mapping[str, Value], *, seed: int) -> Evaluation:
        """Run one simulated pick; same params and seed, same result.

        Raises:
            InvalidParams: `params` does not fit the space.
        """
        clean = self.problem.space.validate(params)
        rng = np.random.default_rng(seed)
        thing = draw_object(rng, randomize=self.randomize)
        errors = rng.standard_normal(2)
        result = simulate_pick(
            grip_force_n=float(clean["grip_force_n"]),
            approach_height_mm=float(clean["approach_height_mm"]),
            lift_speed_mm_s=float(clean["lift_speed_mm_s"]),
            friction=PAD_FRICTION[str(clean["pad_material"])] * thing.friction_scale,
            mass_kg=thing.mass_kg,
            offset_x_mm=thing.offset_x_mm,
            frames=self.camera,
        )
        if self.failures:
            mode = pick_mode(result, crush_limit_n=self.crush_limit_n)
            if mode is not PickMode.SUCCESS:
                return self._failure(mode, result, thing, clean)
        values = {
            "squeeze_force_n": result.squeeze_force_n * (1.0 + self.noise * float(errors[0])),
            "lift_height_mm": result.lift_height_mm * (1.0 + self.noise * float(errors[1])),
            "slip_mm": result.slip_mm,
            "success": 1.0 if result.mode is PickMode.SUCCESS else 0.0,
        }
        raw = {"frames": self._save_frames(result, clean, seed)} if self.camera else {}
        return Outcome(values=values, duration_s=result.episode_s + self.reset_s, raw=raw)

    def _failure(
        self, mode: PickMode, result: PickResult, thing: PickObject, params: Mapping[str, Value]
    ) -> Failure:
        force = float(params["grip_force_n"])
        if mode is PickMode.MISS:
            at_s = result.closed_at_s
            reason = (
                f"miss: the fingers closed on nothing {float(params['approach_height_mm']):.1f} mm "
                f"above the box centre (box top at {1000 * BOX_HALF_HEIGHT_M:.0f} mm)"
            )
        elif mode is PickMode.CRUSH:
            at_s = overload_time_s(result, crush_limit_n=self.crush_limit_n) or result.closed_at_s
            reason = (
                f"crush: pad force peaked at {result.peak_force_n:.2f} N, above the object's "
                f"{self.crush_limit_n:.2f} N limit (grip force {force:.2f} N)"
            )
        else:
            at_s = result.episode_s
            reason = (
                f"slip: the box dropped {result.slip_mm:.1f} mm out of the fingers during the "
                f"lift (grip force {force:.2f} N, {float(params['lift_speed_mm_s']):.0f} mm/s, "
                f"{params['pad_material']} pads, box {1000 * thing.mass_kg:.0f} g)"
            )
        return Failure(Cause.INFEASIBLE, reason, duration_s=at_s + self.reset_s)

    def _save_frames(self, result: PickResult, params: Mapping[str, Value], seed: int) -> str:
        if self.frames_dir is None:
            self.frames_dir = tempfile.mkdtemp(prefix="daedalus-gripper-")
        key = repr(sorted((k, repr(v)) for k, v in params.items()))
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        path = Path(self.frames_dir) / f"pick-{digest}-seed{seed}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, frames=result.frames)
        return str(path)


__all__ = [
    "DESIGN_CASE",
    "GRIPPER_MJCF",
    "PAD_FRICTION",
    "GripperCell",
    "PickMode",
    "PickObject",
    "PickResult",
    "coulomb_grip_force_n",
    "draw_object",
    "episode_duration_s",
    "grasp_height_m",
    "gripper_mjcf",
    "gripper_problem",
    "gripper_space",
    "import_mujoco",
    "lift_duration_s",
    "overload_time_s",
    "peak_lift_acceleration_m_s2",
    "pick_mode",
    "reference_grip_force_n",
    "script_controls",
    "simulate_pick",
]
