"""The public surface: an explicit, sorted `__all__` whose names all exist."""

from __future__ import annotations

import daedalus


def test_all_is_sorted_and_complete() -> None:
    assert daedalus.__all__ == sorted(daedalus.__all__)
    for name in daedalus.__all__:
        assert hasattr(daedalus, name), name


def test_errors_are_also_builtins() -> None:
    assert issubclass(daedalus.InvalidSpace, ValueError)
    assert issubclass(daedalus.PermissionDenied, PermissionError)
    assert issubclass(daedalus.UnknownCampaign, LookupError)
    assert issubclass(daedalus.LeaseHeld, daedalus.DaedalusError)
