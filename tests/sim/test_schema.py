"""archsim.design.schema: the strict validator behind design points and cost tables, on a toy
schema."""
# ruff: noqa: RUF009  (field_() is dataclasses.field() plus metadata, not a shared default)

import dataclasses
import math
import pickle
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Literal

import pytest

from archsim.design.schema import Rules, SchemaError, dump, field_, field_names, field_rules, parse

Pos = Annotated[int | float, Rules(ge=0, finite=True)]


def _increasing(points):
    xs = [p[0] for p in points]
    if xs != sorted(set(xs)):
        raise ValueError(f"x must increase, got {xs}")


def _even(v):
    if v % 2:
        raise ValueError(f"{v} is odd")


@dataclass(frozen=True, kw_only=True)
class Inner:
    """A nested section with one required field."""

    size: int = field_(gt=0, doc="required size")
    scale: float = field_(1.0, gt=0, le=10, doc="a bounded float")
    on: bool = field_(True, doc="a flag")


@dataclass(frozen=True, kw_only=True)
class Outer:
    """Every supported type once."""

    name: str = field_(min_len=1, max_len=8, doc="required name")
    count: int = field_(0, ge=0)
    ratio: float = field_(0.5, lt=1)
    amount: Pos = field_(0)
    finite: float = field_(0.0, finite=True)
    kind: Literal["a", "b", "c"] = field_("a")
    only: Literal["x"] = field_("x")
    limit: int | None = field_(None, gt=0)
    params: dict[str, Any] = field_(default_factory=dict)
    weights: dict[str, float] = field_(default_factory=dict)
    points: list[tuple[Pos, Pos]] = field_(default_factory=list, max_len=3, check=_increasing)
    tags: tuple[str, ...] = field_(())
    even: int = field_(2, check=_even)
    inner: Inner = field_(default_factory=partial(Inner, size=1))
    maybe: Inner | None = field_(None)

    def _check(self):
        if self.limit is not None and self.count > self.limit:
            raise ValueError("count must not exceed limit")


@dataclass(frozen=True, kw_only=True)
class Small:
    """A section without containers: hashable."""

    a: int = field_(1)
    b: Inner = field_(default_factory=partial(Inner, size=2))


def _ok(**data):
    return parse(Outer, {"name": "n", **data}, "s.yaml")


def _error(data, cls=Outer):
    with pytest.raises(SchemaError) as ei:
        parse(cls, data, "s.yaml")
    return str(ei.value)


# ---- accepted input and defaults -------------------------------------------------------------

def test_defaults():
    o = _ok()
    assert o == Outer(name="n")
    assert (o.count, o.ratio, o.amount, o.kind, o.only, o.limit, o.tags, o.even) == (
        0, 0.5, 0, "a", "x", None, (), 2)
    assert o.params == {} and o.weights == {} and o.points == [] and o.maybe is None
    assert o.inner == Inner(size=1, scale=1.0, on=True)
    assert _ok().params is not o.params  # default_factory: a fresh dict per object


def test_types_accepted_and_converted():
    o = _ok(count=3, ratio=0, amount=2, finite=1, kind="c", limit=4,
            params={"k": [1, 2], "t": (1,)}, weights={"w": 2}, points=[[0, 1.5], (2, 3)],
            tags=["p", "q"], even=4, inner={"size": 3, "scale": 10, "on": False},
            maybe={"size": 5})
    assert type(o.ratio) is float and o.ratio == 0.0  # int accepted for float, converted
    assert type(o.finite) is float
    assert type(o.amount) is int  # int | float keeps what was written
    assert type(o.weights["w"]) is float
    assert o.points == [(0, 1.5), (2, 3)] and type(o.points) is list
    assert all(type(p) is tuple for p in o.points)
    assert o.tags == ("p", "q")
    assert o.inner == Inner(size=3, scale=10.0, on=False)
    assert o.maybe == Inner(size=5)
    assert o.params == {"k": [1, 2], "t": (1,)}
    assert _ok(amount=2.5).amount == 2.5
    assert _ok(ratio=-math.inf).ratio == -math.inf  # no finite rule on ratio


def test_section_instance_accepted_as_is():
    inner = Inner(size=7)
    assert _ok(inner=inner).inner is inner
    o = _ok()
    assert parse(Outer, o) is o


# ---- every error message ---------------------------------------------------------------------

@pytest.mark.parametrize("data,message", [
    ({"count": "3"}, "field 'count': Input should be a valid integer"),
    ({"count": True}, "field 'count': Input should be a valid integer"),
    ({"count": 2.0}, "field 'count': Input should be a valid integer"),
    ({"count": None}, "field 'count': Input should be a valid integer"),
    ({"count": -1}, "field 'count': Input should be greater than or equal to 0"),
    ({"ratio": "x"}, "field 'ratio': Input should be a valid number"),
    ({"ratio": False}, "field 'ratio': Input should be a valid number"),
    ({"ratio": 1}, "field 'ratio': Input should be less than 1"),
    ({"inner": {"size": 0}}, "field 'inner.size': Input should be greater than 0"),
    ({"inner": {"size": 1, "scale": 11}},
     "field 'inner.scale': Input should be less than or equal to 10"),
    ({"inner": {"size": 1, "on": 1}}, "field 'inner.on': Input should be a valid boolean"),
    ({"amount": "1"}, "field 'amount': Input should be a valid number"),
    ({"amount": True}, "field 'amount': Input should be a valid number"),
    ({"amount": -1}, "field 'amount': Input should be greater than or equal to 0"),
    ({"amount": math.inf}, "field 'amount': Input should be a finite number"),
    ({"amount": math.nan}, "field 'amount': Input should be greater than or equal to 0"),
    ({"finite": math.nan}, "field 'finite': Input should be a finite number"),
    ({"name": 5}, "field 'name': Input should be a valid string"),
    ({"name": ""}, "field 'name': String should have at least 1 character"),
    ({"name": "abcdefghi"}, "field 'name': String should have at most 8 characters"),
    ({"kind": "d"}, "field 'kind': Input should be 'a', 'b' or 'c'"),
    ({"kind": ["a"]}, "field 'kind': Input should be 'a', 'b' or 'c'"),
    ({"only": "y"}, "field 'only': Input should be 'x'"),
    ({"limit": 0}, "field 'limit': Input should be greater than 0"),
    ({"limit": "x"}, "field 'limit': Input should be a valid integer"),
    ({"params": []}, "field 'params': Input should be a valid dictionary"),
    ({"params": {1: 2}}, "field 'params.1.[key]': Input should be a valid string"),
    ({"weights": {"a": "x"}}, "field 'weights.a': Input should be a valid number"),
    ({"points": "x"}, "field 'points': Input should be a valid list"),
    ({"points": [5]}, "field 'points.0': Input should be a valid tuple"),
    ({"points": [[1]]}, "field 'points.0.1': Field required"),
    ({"points": [[1, 2, 3]]},
     "field 'points.0': Tuple should have at most 2 items after validation, not 3"),
    ({"points": [[1, -1]]}, "field 'points.0.1': Input should be greater than or equal to 0"),
    ({"points": [[1, 1], [2, 1], [3, 1], [4, 1]]},
     "field 'points': List should have at most 3 items after validation, not 4"),
    ({"points": [[2, 0], [1, 0]]}, "field 'points': Value error, x must increase, got [2, 1]"),
    ({"tags": "ab"}, "field 'tags': Input should be a valid tuple"),
    ({"tags": [1]}, "field 'tags.0': Input should be a valid string"),
    ({"even": 3}, "field 'even': Value error, 3 is odd"),
    ({"inner": 5}, "field 'inner': Input should be a valid dictionary or instance of Inner"),
    ({"inner": None}, "field 'inner': Input should be a valid dictionary or instance of Inner"),
    ({"maybe": 5}, "field 'maybe': Input should be a valid dictionary or instance of Inner"),
    ({"inner": {}}, "field 'inner.size': Field required"),
    ({"inner": {"size": 1, "zz": 1}}, "field 'inner.zz': unknown key"),
    ({"zz": 1}, "field 'zz': unknown key"),
    ({1: 2}, "field '1': Keys should be strings"),
    ({"count": 5, "limit": 3}, "field '<root>': Value error, count must not exceed limit"),
])
def test_error_messages(data, message):
    assert _error({"name": "n", **data}) == f"s.yaml: {message}"


def test_missing_required_and_not_a_mapping():
    assert _error({}) == "s.yaml: field 'name': Field required"
    assert _error([1]) == ("s.yaml: field '<root>': Input should be a valid dictionary or "
                           "instance of Outer")


def test_all_errors_collected_in_order():
    data = {"zz": 1, "count": -1, "name": 3, "inner": {"yy": 0, "scale": "x"},
            "points": [[1, -1], [0]], "limit": 0, "aa": 2}
    with pytest.raises(SchemaError) as ei:
        parse(Outer, data, "s.yaml")
    # declared fields in declaration order (nested ones in place), then unknown keys in input
    # order; the cross-field check does not run while a field is invalid
    assert ei.value.issues == [
        (("name",), "Input should be a valid string"),
        (("count",), "Input should be greater than or equal to 0"),
        (("limit",), "Input should be greater than 0"),
        (("points", 0, 1), "Input should be greater than or equal to 0"),
        (("points", 1, 1), "Field required"),
        (("inner", "size"), "Field required"),
        (("inner", "scale"), "Input should be a valid number"),
        (("inner", "yy"), "unknown key"),
        (("zz",), "unknown key"),
        (("aa",), "unknown key"),
    ]
    assert str(ei.value) == "; ".join(
        f"s.yaml: field {'.'.join(map(str, p))!r}: {m}" for p, m in ei.value.issues)


def test_error_class_and_default_source():
    class MyError(ValueError):
        pass

    with pytest.raises(MyError, match=r"^x\.yaml: field 'name': Field required$") as ei:
        parse(Outer, {}, "x.yaml", error=MyError)
    assert ei.value.issues == [(("name",), "Field required")]
    with pytest.raises(SchemaError, match=r"^<dict>: field 'name'"):
        parse(Outer, {})
    assert issubclass(SchemaError, ValueError)


# ---- objects: frozen, equality, hashing, pickle, dump ------------------------------------------

def _full():
    return _ok(count=1, limit=2, params={"p": {"q": (1, 2)}}, weights={"w": 1.5},
               points=[[0, 1], [1, 2]], tags=["t"], maybe={"size": 4}, amount=3)


def test_frozen():
    o = _full()
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.count = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.inner.size = 2


def test_equality_and_hashing():
    assert _full() == _full()
    assert _full() != _ok()
    assert Inner(size=1) != Small()  # different classes never compare equal
    assert hash(Small()) == hash(parse(Small, {"b": {"size": 2}}))
    with pytest.raises(TypeError):  # a dict field makes the object unhashable
        hash(_full())


def test_pickle_round_trip():
    o = _full()
    assert pickle.loads(pickle.dumps(o)) == o


def test_dump():
    o = _full()
    d = dump(o)
    assert d["points"] == [(0, 1), (1, 2)] and d["tags"] == ("t",)
    assert d["inner"] == {"size": 1, "scale": 1.0, "on": True}
    assert d["maybe"] == {"size": 4, "scale": 1.0, "on": True}
    assert d["params"] == {"p": {"q": (1, 2)}}
    assert list(d) == list(field_names(Outer))
    j = dump(o, json=True)
    assert j["points"] == [[0, 1], [1, 2]] and j["tags"] == ["t"]
    assert j["params"] == {"p": {"q": [1, 2]}}
    d["params"]["p"]["new"] = 1  # a copy: the object is unchanged
    d["points"].append((5, 5))
    assert o.params == {"p": {"q": (1, 2)}} and len(o.points) == 2
    assert parse(Outer, dump(o)) == o
    # json: typed tuples come back as tuples; inside an Any value they stay lists
    back = parse(Outer, dump(o, json=True))
    assert back.params == {"p": {"q": [1, 2]}}
    assert dataclasses.replace(back, params=o.params) == o


def test_field_names_and_rules():
    assert field_names(Inner) == ("size", "scale", "on")
    r = field_rules(Inner, "scale")
    assert (r.gt, r.le, r.doc) == (0, 10, "a bounded float")
    assert field_rules(Outer, "count").ge == 0  # 0 is a given bound, not "unset"
    assert "ge=0" in repr(field_rules(Outer, "count"))


# ---- schema definition errors ------------------------------------------------------------------

def test_bad_schemas_raise_type_error():
    @dataclass(frozen=True)
    class Union3:
        x: int | str = 1

    @dataclass(frozen=True)
    class WrongRule:
        x: str = field_("a", gt=0)

    @dataclass
    class NotFrozen:
        x: int = 1

    @dataclass(frozen=True)
    class IntKeys:
        x: dict[int, int] = field_(default_factory=dict)

    for cls, match in [(Union3, "unsupported union"), (WrongRule, "gt do not apply"),
                       (NotFrozen, "not a frozen dataclass"), (IntKeys, "keys must be str")]:
        with pytest.raises(TypeError, match=match):
            parse(cls, {})
