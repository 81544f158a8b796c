"""Campaign files: a TOML description of a campaign, validated fully at the boundary.

```toml
name = "snar-demo"            # optional; the CLI's --name wins
simulator = "snar"            # a built-in simulator (`daedalus sims`)

[campaign]                    # all optional
budget = 40
batch = 1
seed = 7
proposer = "bayes"            # or "sobol"
retries = 2                   # machine faults retried per experiment
timeout_s = 7200              # campaign seconds before an attempt times out
target = 11000                # stop once the first objective reaches this

[machines]
count = 4                     # simulated machines running at once
options = { noise = 0.01 }    # passed to the simulator

[goal]
constraints = ["e_factor <= 9"]   # replaces the simulator's outcome constraints
# reference_point = { sty = 0, e_factor = 10 }   # several objectives: the hypervolume's

[safety]
limits = { temperature_c = [30, 110] }
forbidden = ["temperature_c > 100 and equivalents > 4"]
approval = ["temperature_c > 105"]
max_concurrent = 1

[ranges]                      # physical ranges; readings outside are rejected
sty = [0, 20000]

[control]                     # re-run a fixed design to watch for drift (counts as budget)
design = { temperature_c = 80, residence_time_min = 1, concentration_m = 0.3, equivalents = 2 }
every = 5                     # other experiments between two controls
strategy = "ratio"            # after drift: "ratio", "shift", "drop" or "ignore"

[outliers]                    # on by default; a suspect reading is re-measured once
remeasure = true              # false: flag and keep, never repeat
threshold = 4.0               # robust score above which a reading is suspect
# enabled = false             # turn the test off
```
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daedalus.errors import DaedalusError, InvalidCampaign
from daedalus.goal import Goal
from daedalus.machines.base import Machine
from daedalus.problem import Problem
from daedalus.runtime.campaign import CREATE_DEFAULTS, build_settings
from daedalus.sims.base import SimulatedMachine
from daedalus.sims.registry import get_simulator

TOP = {
    "name": str,
    "simulator": str,
    "campaign": dict,
    "machines": dict,
    "goal": dict,
    "safety": dict,
    "ranges": dict,
    "control": dict,
    "outliers": dict,
}
CAMPAIGN = {
    "budget": int,
    "batch": int,
    "seed": int,
    "proposer": str,
    "retries": int,
    "timeout_s": (int, float),
    "target": (int, float),
    "proposer_options": dict,
}
MACHINES = {"count": int, "options": dict}


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    """A campaign described by a file or by CLI flags, ready for `Campaign.create`."""

    name: str | None
    simulator: str
    options: dict[str, Any] = field(default_factory=dict)  # Campaign.create keywords
    count: int = 1
    sim_options: dict[str, Any] = field(default_factory=dict)
    constraints: list[str] | None = None
    reference_point: dict[str, float] | None = None

    def problem(self) -> Problem:
        sim = get_simulator(self.simulator, **self.sim_options)
        problem: Problem = sim.problem
        if self.constraints is not None or self.reference_point is not None:
            old = problem.goal
            goal = Goal(
                *old.objectives,
                constraints=old.constraints if self.constraints is None else self.constraints,
                reference_point=old.reference_point
                if self.reference_point is None
                else self.reference_point,
            )
            problem = dataclasses.replace(problem, goal=goal)
        return problem

    def machines(self) -> list[Machine]:
        return build_machines(
            {"simulator": self.simulator, "count": self.count, "options": self.sim_options}
        )

    def machines_setting(self) -> dict[str, Any]:
        return {"simulator": self.simulator, "count": self.count, "options": self.sim_options}


def build_machines(spec: Mapping[str, Any], *, count: int | None = None) -> list[Machine]:
    """Simulated machines as a campaign's `machines` setting names them."""
    if "simulator" not in spec:
        raise InvalidCampaign(
            "this campaign names no simulator to run on; drive it with the ask/tell API"
        )
    name = str(spec["simulator"])
    n = int(count if count is not None else spec.get("count", 1))
    if n < 1:
        raise InvalidCampaign(f"machines: count must be >= 1, got {n}")
    options = dict(spec.get("options", {}))
    return [
        SimulatedMachine(get_simulator(name, **options), name=f"{name}-{i + 1}") for i in range(n)
    ]


def _check_keys(where: str, table: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    for key, value in table.items():
        if key not in schema:
            raise InvalidCampaign(f"{where}: unknown key {key!r}; expected one of {sorted(schema)}")
        kind = schema[key]
        ok = isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)
        if not ok:
            expected = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            raise InvalidCampaign(f"{where}.{key}: expected {expected}, got {value!r}")


def load_campaign_file(path: str | Path) -> CampaignSpec:
    """Read and validate a campaign file.

    Raises:
        InvalidCampaign: naming the file, the key and what was expected.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise InvalidCampaign(f"{path}: no such campaign file") from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise InvalidCampaign(f"{path}: not valid TOML: {err}") from err
    try:
        return _spec(data)
    except DaedalusError as err:
        raise InvalidCampaign(f"{path}: {err}") from err


def _spec(data: Mapping[str, Any]) -> CampaignSpec:
    _check_keys("file", data, TOP)
    if "simulator" not in data:
        raise InvalidCampaign(
            "file: missing key 'simulator'; name a built-in simulator (`daedalus sims`)"
        )
    campaign = dict(data.get("campaign", {}))
    _check_keys("[campaign]", campaign, CAMPAIGN)
    machines = dict(data.get("machines", {}))
    _check_keys("[machines]", machines, MACHINES)
    goal = dict(data.get("goal", {}))
    _check_keys("[goal]", goal, {"constraints": list, "reference_point": dict})
    ranges = dict(data.get("ranges", {}))
    for key, pair in ranges.items():
        if not (isinstance(pair, list) and len(pair) == 2):
            raise InvalidCampaign(f"[ranges].{key}: expected [low, high], got {pair!r}")
    options: dict[str, Any] = dict(campaign)
    if "safety" in data:
        options["safety"] = data["safety"]
    if ranges:
        options["ranges"] = ranges
    if "control" in data:
        options["control"] = data["control"]
    if "outliers" in data:
        options["outliers"] = data["outliers"]
    spec = CampaignSpec(
        name=data.get("name"),
        simulator=data["simulator"],
        options=options,
        count=machines.get("count", 1),
        sim_options=dict(machines.get("options", {})),
        constraints=[str(c) for c in goal["constraints"]] if "constraints" in goal else None,
        reference_point=goal.get("reference_point"),
    )
    if spec.count < 1:
        raise InvalidCampaign(f"[machines].count: expected an integer >= 1, got {spec.count}")
    try:
        problem = spec.problem()
    except TypeError as err:
        raise InvalidCampaign(f"[machines].options: {err}") from err
    settings = {**CREATE_DEFAULTS, **options}
    build_settings(problem, **settings)  # every setting checked before anything is written
    return spec
