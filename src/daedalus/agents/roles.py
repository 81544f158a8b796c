"""The team's identities. What each role may append is `daedalus.events.PERMISSIONS`, enforced
by every journal on append."""

from __future__ import annotations

from daedalus.events import PERMISSIONS, Actor, Role, may_append

PLANNER = Actor(Role.PLANNER, "planner")
SAFETY = Actor(Role.SAFETY, "safety")
OPERATOR = Actor(Role.OPERATOR, "operator")
ANALYST = Actor(Role.ANALYST, "analyst")
SYSTEM = Actor(Role.SYSTEM, "runtime")


def human(name: str) -> Actor:
    """A person acting on a campaign, named for the audit trail."""
    return Actor(Role.HUMAN, name)


__all__ = [
    "ANALYST",
    "OPERATOR",
    "PERMISSIONS",
    "PLANNER",
    "SAFETY",
    "SYSTEM",
    "human",
    "may_append",
]
