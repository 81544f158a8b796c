"""daedalus: closed-loop experiments on simulated and real machines, on a durable journal.

The public API is re-exported here; everything else is private to its module.
"""

from daedalus.agents.safety import Envelope
from daedalus.errors import (
    ConcurrencyConflict,
    DaedalusError,
    InvalidCampaign,
    InvalidGoal,
    InvalidParams,
    InvalidSpace,
    JournalCorrupt,
    LeaseHeld,
    MachineError,
    PermissionDenied,
    UnknownCampaign,
)
from daedalus.events import Cause
from daedalus.goal import Goal, Maximize, Minimize, OutcomeConstraint
from daedalus.machines.base import Failure, Job, Machine, NotStarted, Outcome, Running, Unknown
from daedalus.problem import Problem, Reference
from daedalus.runtime.campaign import Campaign
from daedalus.runtime.clock import VirtualClock, WallClock
from daedalus.runtime.loop import RunResult
from daedalus.sims.base import SimulatedMachine, Simulator
from daedalus.space import Choice, Integer, LinearConstraint, Real, Space
from daedalus.state import CampaignStatus, Experiment, State, Status

__version__ = "0.1.0"

__all__ = [
    "Campaign",
    "CampaignStatus",
    "Cause",
    "Choice",
    "ConcurrencyConflict",
    "DaedalusError",
    "Envelope",
    "Experiment",
    "Failure",
    "Goal",
    "Integer",
    "InvalidCampaign",
    "InvalidGoal",
    "InvalidParams",
    "InvalidSpace",
    "Job",
    "JournalCorrupt",
    "LeaseHeld",
    "LinearConstraint",
    "Machine",
    "MachineError",
    "Maximize",
    "Minimize",
    "NotStarted",
    "Outcome",
    "OutcomeConstraint",
    "PermissionDenied",
    "Problem",
    "Real",
    "Reference",
    "RunResult",
    "Running",
    "SimulatedMachine",
    "Simulator",
    "Space",
    "State",
    "Status",
    "Unknown",
    "UnknownCampaign",
    "VirtualClock",
    "WallClock",
    "__version__",
]
