"""The error hierarchy: one root, few leaves, each also a builtin where callers expect one."""

from __future__ import annotations


class DaedalusError(Exception):
    """Root of every error daedalus raises on purpose."""


class InvalidSpace(DaedalusError, ValueError):
    """A design space, parameter or linear constraint is malformed."""


class InvalidGoal(DaedalusError, ValueError):
    """An objective or outcome constraint is malformed."""


class InvalidParams(DaedalusError, ValueError):
    """A design does not fit its space: unknown or missing names, values out of bounds."""


class InvalidCampaign(DaedalusError, ValueError):
    """A campaign file or campaign settings are malformed."""


class JournalCorrupt(DaedalusError, RuntimeError):
    """A journal is damaged: torn record, broken hash chain, unknown event type or version."""


class ConcurrencyConflict(DaedalusError, RuntimeError):
    """An append's `expected_seq` did not match the journal: another writer got there first."""


class LeaseHeld(DaedalusError, RuntimeError):
    """Another runtime holds the campaign's writer lease, or this one lost it."""


class PermissionDenied(DaedalusError, PermissionError):
    """A role tried to append an event type it may not write. The refusal is journaled."""


class UnknownCampaign(DaedalusError, LookupError):
    """No campaign of that name exists in the journal."""

    def __str__(self) -> str:  # LookupError would quote the message like a KeyError does
        return str(self.args[0]) if self.args else ""


class InvalidTransition(DaedalusError, RuntimeError):
    """An event does not follow the experiment lifecycle or the campaign's status (say, a
    reading for a blocked design, or a dispatch after a person aborted). Nothing is written."""


class MachineError(DaedalusError, RuntimeError):
    """A machine could not be reached or answered nonsense."""
