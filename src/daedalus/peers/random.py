"""`RandomProposer`: plain random search, the floor every optimiser should clear.

Each design is a uniform draw from the encoded unit cube, decoded by `space.decode`: uniform on a
`Real` (log-uniform when `log=True`), on an `Integer`'s values and on a `Choice`'s options.
Draws that break the linear constraints, repeat a known design or repeat one earlier in the batch
are drawn again. Stateless: NumPy's generator is seeded from `seed` and `history.n_proposed`, so
the same inputs give the same designs and a resumed run proposes what an uninterrupted one would.
Needs no extra library.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from daedalus.errors import DaedalusError
from daedalus.goal import Goal
from daedalus.proposers.base import History
from daedalus.proposers.sobol import check_batch, design_key, known_keys, sobol_seed
from daedalus.space import Params, Space


@dataclass(frozen=True, slots=True, kw_only=True)
class RandomProposer:
    """Uniform random designs of the encoded unit cube.

    Args:
        max_draws_per_design: draws per requested design before giving up; bounds the work when
            the linear constraints leave a tiny part of the box.
    """

    max_draws_per_design: int = 1000
    name: str = field(default="random", init=False)

    def propose(
        self, space: Space, goal: Goal, history: History, *, n: int, seed: int
    ) -> list[Params]:
        """Return `n` distinct valid designs of `space` not yet known in `history`.

        Raises:
            DaedalusError: fewer than `n` acceptable designs within the draw budget.
        """
        check_batch(n)
        rng = np.random.default_rng([sobol_seed(seed), max(0, history.n_proposed)])
        seen = known_keys(space, history)
        designs: list[Params] = []
        for _ in range(self.max_draws_per_design * n):
            params = space.decode(rng.random(space.dim))
            key = design_key(space, params)
            if key in seen or not space.contains(params):
                continue
            seen.add(key)
            designs.append(space.validate(params))
            if len(designs) == n:
                return designs
        raise DaedalusError(
            f"RandomProposer: found only {len(designs)} of {n} new valid designs in "
            f"{self.max_draws_per_design * n} draws; the linear constraints "
            f"{[str(c) for c in space.constraints]} leave too small a region of the box, or no "
            "untried designs are left"
        )
