"""The design space: parameters, linear constraints, and encoding to and from the unit cube.

Encoding maps one design to a point of `[0, 1]^d`: a `Real` to one coordinate (log-scaled when
`log=True`), an `Integer` to one coordinate whose unit interval is split into equal cells, one per
value, and a `Choice` to a one-hot block with one coordinate per option. Decoding is the inverse,
so `space.decode(space.encode(params)) == params` for every valid design.
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from daedalus.errors import InvalidParams, InvalidSpace
from daedalus.expressions import ExpressionError, parse_linear

Value = float | int | str
Params = dict[str, Value]
FloatArray = npt.NDArray[np.float64]


def _check_name(kind: str, name: str) -> None:
    if not (isinstance(name, str) and name.isidentifier()) or keyword.iskeyword(name):
        raise InvalidSpace(
            f"{kind}({name!r}): a name must be a Python identifier such as 'temperature_c'"
        )


def _finite(kind: str, name: str, **values: float) -> None:
    for key, value in values.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise InvalidSpace(f"{kind}('{name}'): {key} must be a finite number, got {value!r}")


@dataclass(frozen=True, slots=True)
class Real:
    """A continuous parameter on `[low, high]`; `log=True` searches it on a log scale."""

    name: str
    low: float
    high: float
    log: bool = field(default=False, kw_only=True)

    def __post_init__(self) -> None:
        _check_name("Real", self.name)
        _finite("Real", self.name, low=self.low, high=self.high)
        if not self.low < self.high:
            raise InvalidSpace(
                f"Real('{self.name}'): low < high must hold, got low={self.low}, high={self.high}"
            )
        if not math.isfinite(self.high - self.low):
            raise InvalidSpace(
                f"Real('{self.name}'): high - low must be finite, got {self.high} - {self.low}; "
                "rescale the parameter"
            )
        if self.log and self.low <= 0:
            raise InvalidSpace(
                f"Real('{self.name}'): a log-scaled parameter needs low > 0, got low={self.low}; "
                "shift the parameter or drop log=True"
            )
        object.__setattr__(self, "low", float(self.low))
        object.__setattr__(self, "high", float(self.high))

    @property
    def width(self) -> int:
        return 1

    def check(self, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidParams(f"{self.name}: expected a number, got {value!r}")
        try:
            number = float(value)
        except OverflowError as err:
            raise InvalidParams(
                f"{self.name} is too large for a float, so outside [{self.low}, {self.high}]"
            ) from err
        if not math.isfinite(number) or not self.low <= number <= self.high:
            raise InvalidParams(
                f"{self.name}={value!r} is outside [{self.low}, {self.high}]; "
                "pass a value within the bounds"
            )
        return number

    def encode(self, value: Value) -> list[float]:
        v = float(value)
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            return [(math.log(v) - lo) / (hi - lo)]
        return [(v - self.low) / (self.high - self.low)]

    def decode(self, u: Sequence[float] | FloatArray) -> float:
        x = min(max(float(u[0]), 0.0), 1.0)
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            return min(max(math.exp(lo + x * (hi - lo)), self.low), self.high)
        return min(max(self.low + x * (self.high - self.low), self.low), self.high)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "real",
            "name": self.name,
            "low": self.low,
            "high": self.high,
            "log": self.log,
        }


@dataclass(frozen=True, slots=True)
class Integer:
    """An integer parameter on `[low, high]`, both included."""

    name: str
    low: int
    high: int

    def __post_init__(self) -> None:
        _check_name("Integer", self.name)
        for key, value in (("low", self.low), ("high", self.high)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidSpace(f"Integer('{self.name}'): {key} must be an int, got {value!r}")
        if not self.low < self.high:
            raise InvalidSpace(
                f"Integer('{self.name}'): low < high must hold, got low={self.low}, "
                f"high={self.high}; use a constant instead of a one-value parameter"
            )

    @property
    def width(self) -> int:
        return 1

    @property
    def levels(self) -> int:
        """How many values it takes; its unit coordinate has a cell of that share for each."""
        return self.high - self.low + 1

    def check(self, value: object) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidParams(f"{self.name}: expected an integer, got {value!r}")
        if not self.low <= value <= self.high:
            raise InvalidParams(
                f"{self.name}={value} is outside [{self.low}, {self.high}]; "
                "pass a value within the bounds"
            )
        return value

    def encode(self, value: Value) -> list[float]:
        return [(int(value) - self.low + 0.5) / self.levels]

    def decode(self, u: Sequence[float] | FloatArray) -> int:
        cells = self.levels
        return self.low + min(max(math.floor(float(u[0]) * cells), 0), cells - 1)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "integer", "name": self.name, "low": self.low, "high": self.high}


@dataclass(frozen=True, slots=True)
class Choice:
    """A categorical parameter: one of `options` (strings or numbers), with no order assumed."""

    name: str
    options: tuple[Value, ...]

    def __post_init__(self) -> None:
        _check_name("Choice", self.name)
        options = tuple(self.options) if not isinstance(self.options, str) else ()
        if len(options) < 2:
            raise InvalidSpace(
                f"Choice('{self.name}'): needs at least two options, got {self.options!r}"
            )
        if len(set(options)) != len(options):
            raise InvalidSpace(f"Choice('{self.name}'): options must be distinct, got {options}")
        for option in options:
            if isinstance(option, bool) or not isinstance(option, str | int | float):
                raise InvalidSpace(
                    f"Choice('{self.name}'): options must be strings or numbers, got {option!r}"
                )
        object.__setattr__(self, "options", options)

    @property
    def width(self) -> int:
        return len(self.options)

    def check(self, value: object) -> Value:
        if value not in self.options or isinstance(value, bool):
            raise InvalidParams(
                f"{self.name}={value!r} is not one of the options {list(self.options)}"
            )
        return self.options[self.options.index(value)]

    def encode(self, value: Value) -> list[float]:
        index = self.options.index(value)
        return [1.0 if i == index else 0.0 for i in range(len(self.options))]

    def decode(self, u: Sequence[float] | FloatArray) -> Value:
        return self.options[int(np.argmax(np.asarray(u, dtype=float)))]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "choice", "name": self.name, "options": list(self.options)}


Parameter = Real | Integer | Choice


@dataclass(frozen=True, slots=True)
class LinearConstraint:
    """`sum(coefficients[name] * params[name]) <= bound` over `Real` or `Integer` parameters.

    Build one from text with `LinearConstraint.parse("flow_a + flow_b <= 10")`; `>=` is turned
    into `<=` by negation.
    """

    coefficients: Mapping[str, float]
    bound: float

    @classmethod
    def parse(cls, text: str) -> LinearConstraint:
        try:
            linear = parse_linear(text)
        except ExpressionError as err:
            raise InvalidSpace(f"linear constraint {text!r}: {err}") from err
        sign = 1.0 if linear.op == "<=" else -1.0
        coefs = {k: sign * v for k, v in linear.coefficients.items()}
        return cls(coefs, sign * linear.bound)

    def holds(self, params: Mapping[str, Value], *, tol: float = 1e-9) -> bool:
        total = sum(c * float(params[k]) for k, c in self.coefficients.items())
        return total <= self.bound + tol * max(1.0, abs(self.bound))

    def __str__(self) -> str:
        terms = " + ".join(f"{c:g}*{k}" for k, c in self.coefficients.items())
        return f"{terms} <= {self.bound:g}"


@dataclass(frozen=True, slots=True)
class UnitInequality:
    """`sum(coefficients * u[indices]) >= rhs` on the encoded unit cube, as BoTorch takes them."""

    indices: tuple[int, ...]
    coefficients: tuple[float, ...]
    rhs: float


class Space:
    """An ordered set of parameters plus linear constraints between them.

    Args:
        parameters: `Real`, `Integer` and `Choice` parameters with distinct names.
        constraints: `LinearConstraint`s, or strings such as `"a + b <= 10"`.

    Raises:
        InvalidSpace: duplicate names, no parameters, or a constraint over an unknown, log-scaled
            or categorical parameter.
    """

    __slots__ = ("_by_name", "_offsets", "constraints", "parameters")

    def __init__(
        self,
        parameters: Iterable[Parameter],
        constraints: Iterable[LinearConstraint | str] = (),
    ) -> None:
        self.parameters: tuple[Parameter, ...] = tuple(parameters)
        if not self.parameters:
            raise InvalidSpace("Space: needs at least one parameter")
        for p in self.parameters:
            if not isinstance(p, Real | Integer | Choice):
                raise InvalidSpace(f"Space: expected Real, Integer or Choice, got {p!r}")
        names = [p.name for p in self.parameters]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise InvalidSpace(f"Space: parameter names must be distinct, repeated: {duplicates}")
        self._by_name = {p.name: p for p in self.parameters}
        offsets, offset = [], 0
        for p in self.parameters:
            offsets.append(offset)
            offset += p.width
        self._offsets = tuple(offsets)
        self.constraints = tuple(
            c if isinstance(c, LinearConstraint) else LinearConstraint.parse(c) for c in constraints
        )
        for c in self.constraints:
            self._check_constraint(c)

    def _check_constraint(self, constraint: LinearConstraint) -> None:
        numbers = [constraint.bound, *constraint.coefficients.values()]
        if not all(math.isfinite(float(v)) for v in numbers):
            raise InvalidSpace(
                f"linear constraint '{constraint}': bound and coefficients must be finite"
            )
        for name in constraint.coefficients:
            p = self._by_name.get(name)
            if p is None:
                raise InvalidSpace(
                    f"linear constraint '{constraint}': unknown parameter '{name}'; "
                    f"known: {sorted(self._by_name)}"
                )
            if isinstance(p, Choice) or (isinstance(p, Real) and p.log):
                raise InvalidSpace(
                    f"linear constraint '{constraint}': '{name}' is categorical or log-scaled; "
                    "linear constraints apply to linear Real and Integer parameters only"
                )

    # -- introspection -------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self.parameters)

    def __len__(self) -> int:
        return len(self.parameters)

    def __getitem__(self, name: str) -> Parameter:
        return self._by_name[name]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self.to_dict()))

    def __repr__(self) -> str:
        return f"Space({list(self.parameters)!r}, constraints={[str(c) for c in self.constraints]})"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    @property
    def dim(self) -> int:
        """Number of coordinates of the encoded unit cube."""
        return sum(p.width for p in self.parameters)

    def slices(self) -> dict[str, slice]:
        """Where each parameter sits in an encoded vector."""
        return {
            p.name: slice(o, o + p.width)
            for p, o in zip(self.parameters, self._offsets, strict=True)
        }

    # -- validation ----------------------------------------------------------------------------

    def validate(self, params: Mapping[str, object]) -> Params:
        """Return `params` with canonical value types, or raise `InvalidParams` naming the fault."""
        if not isinstance(params, Mapping):
            raise InvalidParams(f"a design must be a mapping of name to value, got {params!r}")
        unknown = sorted(set(params) - set(self._by_name), key=repr)
        missing = [n for n in self._by_name if n not in params]
        if unknown or missing:
            raise InvalidParams(
                f"design names do not match the space: unknown {unknown}, missing {missing}"
            )
        clean: Params = {p.name: p.check(params[p.name]) for p in self.parameters}
        broken = [str(c) for c in self.constraints if not c.holds(clean)]
        if broken:
            raise InvalidParams(f"design {clean} violates linear constraints {broken}")
        return clean

    def contains(self, params: Mapping[str, object]) -> bool:
        try:
            self.validate(params)
        except InvalidParams:
            return False
        return True

    # -- encoding ------------------------------------------------------------------------------

    def encode(self, params: Mapping[str, Value]) -> FloatArray:
        """Map one design to a point of the unit cube, shape `(dim,)`."""
        out: list[float] = []
        for p in self.parameters:
            out.extend(p.encode(params[p.name]))
        return np.asarray(out, dtype=np.float64)

    def encode_many(self, designs: Sequence[Mapping[str, Value]]) -> FloatArray:
        """Map designs to an `n x dim` array."""
        if not designs:
            return np.zeros((0, self.dim), dtype=np.float64)
        return np.stack([self.encode(d) for d in designs])

    def decode(self, u: Sequence[float] | FloatArray) -> Params:
        """Map a point of the unit cube (shape `(dim,)`) back to a design."""
        vec = np.asarray(u, dtype=np.float64)
        if vec.shape != (self.dim,):
            raise InvalidParams(f"expected a vector of length {self.dim}, got shape {vec.shape}")
        return {
            p.name: p.decode(vec[o : o + p.width])
            for p, o in zip(self.parameters, self._offsets, strict=True)
        }

    def unit_inequalities(self) -> list[UnitInequality]:
        """The linear constraints restated on the encoded cube, `sum(c * u) >= rhs`.

        Exact for `Real`; for `Integer` it constrains the cell's centre line, which is exact at
        every decoded value.
        """
        result = []
        for c in self.constraints:
            indices, coefs, rhs = [], [], -c.bound
            for name, coef in c.coefficients.items():
                p = self._by_name[name]
                index = self._offsets[self.parameters.index(p)]
                if isinstance(p, Integer):
                    origin, scale = p.low - 0.5, float(p.levels)
                elif isinstance(p, Real):
                    origin, scale = p.low, p.high - p.low
                else:  # refused in _check_constraint
                    raise InvalidSpace(f"linear constraint over categorical {name!r}")
                indices.append(index)
                coefs.append(-coef * scale)
                rhs += coef * origin
            result.append(UnitInequality(tuple(indices), tuple(coefs), rhs))
        return result

    # -- serialisation -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "parameters": [p.to_dict() for p in self.parameters],
            "constraints": [
                {"coefficients": dict(c.coefficients), "bound": c.bound} for c in self.constraints
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Space:
        params: list[Parameter] = []
        for item in data["parameters"]:
            kind = item["kind"]
            if kind == "real":
                params.append(Real(item["name"], item["low"], item["high"], log=item["log"]))
            elif kind == "integer":
                params.append(Integer(item["name"], item["low"], item["high"]))
            elif kind == "choice":
                params.append(Choice(item["name"], tuple(item["options"])))
            else:
                raise InvalidSpace(f"unknown parameter kind {kind!r}")
        constraints = [
            LinearConstraint(dict(c["coefficients"]), c["bound"]) for c in data["constraints"]
        ]
        return cls(params, constraints)
