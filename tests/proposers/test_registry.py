"""`make_proposer` and the public surface of `daedalus.proposers`."""

from __future__ import annotations

import subprocess
import sys

import pytest

import daedalus.proposers as proposers
from daedalus.errors import InvalidCampaign
from daedalus.proposers import BayesProposer, SobolProposer, make_proposer


def test_all_is_sorted_and_importable() -> None:
    assert proposers.__all__ == sorted(proposers.__all__)
    assert all(getattr(proposers, name) is not None for name in proposers.__all__)


@pytest.mark.parametrize(("name", "cls"), [("sobol", SobolProposer), ("bayes", BayesProposer)])
def test_makes_each_proposer_by_name(name: str, cls: type) -> None:
    proposer = make_proposer(name)
    assert isinstance(proposer, cls)
    assert proposer.name == name


def test_passes_options_through() -> None:
    assert make_proposer("bayes", n_init=7, num_restarts=3) == BayesProposer(
        n_init=7, num_restarts=3
    )


def test_unknown_name_lists_the_known_proposers() -> None:
    with pytest.raises(InvalidCampaign, match=r"known proposers: \['bayes', 'sobol'\]"):
        make_proposer("turbo")


def test_unknown_option_lists_the_accepted_ones() -> None:
    with pytest.raises(InvalidCampaign, match=r"unknown options \['restarts'\].*num_restarts"):
        make_proposer("bayes", restarts=3)


def test_importing_the_package_does_not_import_botorch() -> None:
    code = "import sys, daedalus.proposers; print('botorch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
