"""The built-in simulators by name, for campaign files, the CLI (`daedalus sims`) and benchmarks."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from daedalus.errors import InvalidCampaign
from daedalus.sims.airfoil import AirfoilTunnel
from daedalus.sims.base import Simulator
from daedalus.sims.catalyst import CatalystScreening
from daedalus.sims.filter import SallenKeyFilter
from daedalus.sims.functions import (
    Ackley10,
    Branin,
    BraninCat,
    BraninDisc,
    Hartmann6,
    PressureVessel,
)
from daedalus.sims.gripper import GripperCell
from daedalus.sims.pareto import BraninCurrin, CatalystPareto, SnarPareto
from daedalus.sims.snar import SnarReactor
from daedalus.sims.truss import TenBarTruss
from daedalus.sims.turning import TurningLathe


@dataclass(frozen=True, slots=True)
class SimInfo:
    """One built-in simulator: its `name`, its field (`domain`), a one-line `summary`, and the
    `factory` that builds it from keyword options."""

    name: str
    domain: str
    summary: str
    factory: Callable[..., Simulator]

    @property
    def options(self) -> tuple[str, ...]:
        """The keyword options the factory accepts, in declaration order."""
        parameters = inspect.signature(self.factory).parameters.values()
        return tuple(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)


SIMULATORS: dict[str, SimInfo] = {
    info.name: info
    for info in (
        SimInfo(
            "snar",
            "chemistry",
            "SnAr flow reactor (Hone et al. 2017): maximise space-time yield, E-factor <= 9",
            SnarReactor,
        ),
        SimInfo(
            "catalyst",
            "chemistry",
            "Catalyst screening (Baumgartner et al. 2018, cases 1-5): maximise yield, "
            "catalyst cost <= 150 USD/mol",
            CatalystScreening,
        ),
        SimInfo(
            "turning",
            "manufacturing",
            "CNC turning (Taylor/Gilbert): minimise cost per part, Ra <= 3.2 um, power <= 15 kW",
            TurningLathe,
        ),
        SimInfo(
            "airfoil",
            "aerospace",
            "Airfoil section in a wind tunnel, NeuralFoil at Re 5e5 (Sharpe & Hansman 2025): "
            "maximise L/D, t/c >= 0.10",
            AirfoilTunnel,
        ),
        SimInfo(
            "filter",
            "electronics",
            "Sallen-Key low-pass from E24 parts swept by ngspice: minimise cutoff error, "
            "yield >= 0.9, cost <= 2 USD",
            SallenKeyFilter,
        ),
        SimInfo(
            "truss",
            "structures",
            "Planar 10-bar truss (Venkayya 1971; Haftka & Gürdal): minimise weight, "
            "stress <= 25 ksi, displacement <= 2 in",
            TenBarTruss,
        ),
        SimInfo(
            "gripper",
            "robotics",
            "Two-finger gripper picks a fragile box in MuJoCo: minimise squeeze force without "
            "slip, miss or crush",
            GripperCell,
        ),
        SimInfo("branin", "test function", "Branin-Hoo, 2-D, minimum 0.397887", Branin),
        SimInfo("hartmann6", "test function", "Hartmann, 6-D, minimum -3.32237", Hartmann6),
        SimInfo(
            "branin_disc",
            "test function",
            "Branin with unknown infeasible discs over two of its three minima; "
            "feasible minimum 0.397887",
            BraninDisc,
        ),
        SimInfo("ackley10", "test function", "Ackley, 10-D on [-5, 10], minimum 0", Ackley10),
        SimInfo(
            "branin_cat",
            "test function",
            "Branin with a categorical surface (mixed), minimum 0.397887 on one surface",
            BraninCat,
        ),
        SimInfo(
            "pressure_vessel",
            "structures",
            "Pressure vessel (Kannan & Kramer 1994): minimise cost, volume >= 1296000 in^3, "
            "1/16 in plate; minimum 6059.714",
            PressureVessel,
        ),
        SimInfo(
            "snar_pareto",
            "chemistry",
            "SnAr flow reactor, two objectives: maximise space-time yield, minimise E-factor "
            "(reference front shipped)",
            SnarPareto,
        ),
        SimInfo(
            "catalyst_pareto",
            "chemistry",
            "Catalyst screening, two objectives: maximise yield, minimise catalyst cost per mol "
            "(reference front shipped)",
            CatalystPareto,
        ),
        SimInfo(
            "branin_currin",
            "test function",
            "BraninCurrin, 2-D, two objectives; reference hypervolume 59.36 at (18, 6)",
            BraninCurrin,
        ),
    )
}


def get_simulator(name: str, **options: object) -> Simulator:
    """Build the built-in simulator `name` with keyword `options` (e.g. `noise=0`).

    Raises:
        InvalidCampaign: unknown name, unknown option, or an option value out of range.
    """
    info = SIMULATORS.get(name)
    if info is None:
        raise InvalidCampaign(f"unknown simulator {name!r}; known simulators: {sorted(SIMULATORS)}")
    unknown = sorted(set(options) - set(info.options))
    if unknown:
        raise InvalidCampaign(
            f"simulator {name!r} does not take options {unknown}; it takes {list(info.options)}"
        )
    return info.factory(**options)


def describe(name: str) -> dict[str, Any]:
    """A JSON-ready description of one simulator: parameters with bounds and units, goal,
    reference, options; `available` is False (with the reason) when its extra is missing."""
    info = SIMULATORS.get(name)
    if info is None:
        raise InvalidCampaign(f"unknown simulator {name!r}; known simulators: {sorted(SIMULATORS)}")
    head: dict[str, Any] = {
        "name": name,
        "domain": info.domain,
        "summary": info.summary,
        "options": list(info.options),
    }
    try:
        problem = get_simulator(name).problem
    except ImportError as err:
        return {**head, "available": False, "reason": str(err)}
    units = problem.units
    parameters = [{**p.to_dict(), "unit": units.get(p.name, "")} for p in problem.space.parameters]
    ref = problem.reference
    return {
        **head,
        "available": True,
        "description": problem.description,
        "parameters": parameters,
        "linear_constraints": [str(c) for c in problem.space.constraints],
        "objectives": [
            {"name": o.name, "sense": "max" if o.sign > 0 else "min", "unit": units.get(o.name, "")}
            for o in problem.goal.objectives
        ],
        "constraints": [str(c) for c in problem.goal.constraints],
        "reference_point": problem.goal.reference_point,
        "reference": None
        if ref is None
        else {"value": ref.value, "params": dict(ref.params), "source": ref.source},
    }


__all__ = ["SIMULATORS", "SimInfo", "describe", "get_simulator"]
