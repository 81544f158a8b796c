"""`CampaignWriter`: the one path by which the runtime and the ask/tell API write a campaign.

It keeps the live state, appends with the fencing token and `expected_seq`, folds what it
appended into the state, and picks up events other writers (a person approving from another
terminal) appended in between.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from daedalus.errors import ConcurrencyConflict, UnknownCampaign
from daedalus.events import Actor
from daedalus.journal.base import Journal, Lease
from daedalus.state import State, advance, check, replay


class CampaignWriter:
    """Live state of one campaign plus appends that keep it current.

    Args:
        journal: where the campaign lives.
        campaign: its name.
        now: the campaign clock, for each record's `at`.
        lease: the writer lease, whose token fences every append (None: no lease held).
        on_change: called with the state after each append or refresh.
    """

    def __init__(
        self,
        journal: Journal,
        campaign: str,
        *,
        now: Callable[[], float],
        lease: Lease | None = None,
        on_change: Callable[[State], None] | None = None,
    ) -> None:
        self.journal = journal
        self.campaign = campaign
        self.lease = lease
        self._now = now
        self._on_change = on_change
        self.state = replay(journal.read(campaign))
        if not self.state.created:
            raise UnknownCampaign(f"campaign {campaign!r} has no events")

    def refresh(self) -> bool:
        """Fold in records appended by others since our last one; True if there were any."""
        before = self.state.seq
        advance(self.state, self.journal.read(self.campaign, after=before))
        changed = self.state.seq != before
        if changed and self._on_change is not None:
            self._on_change(self.state)
        return changed

    def emit(self, actor: Actor, events: Sequence[Any]) -> State:
        """Append `events` as `actor` and return the updated state.

        The batch is checked against the lifecycle first (`state.check`). A conflict with a
        person's concurrent append is resolved by reading their events and checking ours again
        on top of them: after an abort, new work is refused with `InvalidTransition`.
        """
        if not events:
            return self.state
        for attempt in range(3):
            check(self.state, events)
            try:
                records = self.journal.append(
                    self.campaign,
                    events,
                    actor=actor,
                    expected_seq=self.state.seq,
                    at=self._now(),
                    token=None if self.lease is None else self.lease.token,
                )
                break
            except ConcurrencyConflict:
                if attempt == 2:
                    raise
                self.refresh()
        advance(self.state, records)
        if self._on_change is not None:
            self._on_change(self.state)
        return self.state
