"""Strict, declarative schemas over frozen dataclasses (design points and cost tables).

Why this module exists: start-up time.  A whole ``archsim run`` process should start well
under 0.6 s, and pydantic cost ~230 ms of every process that loads a design point or a cost
table (measured here, pydantic 2.14 on Python 3.11, median of 9 fresh processes: ~110 ms to
import it, ~100 ms to build the ``ArchConfig`` models, ~20 ms the ``CostTable`` models).  This
module does the same job with the standard library in ~40 ms, most of it the methods
``dataclasses`` generates for the two dozen section classes (~1.3 ms each); validating a
design point takes ~0.2 ms.  Error messages keep pydantic's wording.

Declaring a schema
------------------
A *section* is a ``@dataclass(frozen=True, kw_only=True)`` class (``kw_only`` lets required
fields follow defaulted ones).  Each field is declared once: its type is the annotation, its
default, constraints and description go through :func:`field_`::

    @dataclass(frozen=True, kw_only=True)
    class Grid:
        rows: int = field_(1, gt=0, doc="tile rows of the mesh")
        name: str = field_(min_len=1, doc="required: no default")
        sub: Other = field_(default_factory=Other, doc="nested section, all defaults")

Types: ``int``, ``float``, ``int | float`` (a number kept as given), ``bool``, ``str``,
``Literal[...]``, ``X | None``, ``dict[str, X]``, ``list[X]``, ``tuple[X, Y]``,
``tuple[X, ...]``, ``Any`` and nested sections; ``Annotated[X, Rules(...)]`` attaches
constraints to a reusable type (e.g. the items of a list).  Constraints (:class:`Rules`):
``gt``/``ge``/``lt``/``le`` and ``finite`` for numbers, ``min_len``/``max_len`` for strings,
lists and tuples, and ``check``: a callable that raises ``ValueError`` for a bad value.

Validation (:func:`parse`) is strict: no str -> int coercion, ``bool`` is not an ``int`` or a
number, an ``int`` is accepted for ``float`` (and converted).  Lists and tuples accept either
a list or a tuple.  Unknown keys are errors.  A section method ``_check(self)`` runs after
all of its fields validated (cross-field rules); a ``ValueError`` it raises is reported at the
section's path (``'<root>'`` for the top) as ``Value error, <message>``, as is one raised by a
field's ``check``.  Every problem is collected, in declaration order with unknown keys last per
section, and reported at once as ``<source>: field '<dotted.path>': <message>`` joined by
``"; "``.  Constructing a section directly (``Grid(name="g")``) does not validate; ``parse``
does.  Objects are immutable, compare by value, hash when every field value hashes and pickle.

:func:`dump` turns a section back into plain data (``json=True``: tuples become lists), so
``parse(cls, dump(x)) == x``; :func:`field_names` lists a section's fields.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import operator
import types
import typing
from typing import Any, Literal, Union

from archsim.errors import SchemaError

__all__ = [
    "Rules",
    "SchemaError",
    "dump",
    "field_",
    "field_names",
    "field_rules",
    "format_issues",
    "parse",
]

_KEY = "archsim.design.schema"
_BAD = object()  # a value that failed validation (its issues are already recorded)
_MISSING = dataclasses.MISSING

Path = tuple  # of str keys and int indices
Issue = tuple  # (Path, message)


class Rules:
    """Constraints and description of a field or, via ``Annotated``, of a reusable type."""

    __slots__ = ("check", "doc", "finite", "ge", "gt", "le", "lt", "max_len", "min_len")

    def __init__(self, *, gt: float | None = None, ge: float | None = None,
                 lt: float | None = None, le: float | None = None, finite: bool = False,
                 min_len: int | None = None, max_len: int | None = None,
                 check: typing.Callable[[Any], object] | None = None, doc: str = "") -> None:
        self.gt, self.ge, self.lt, self.le, self.finite = gt, ge, lt, le, finite
        self.min_len, self.max_len, self.check, self.doc = min_len, max_len, check, doc

    def set_names(self) -> list[str]:
        """Names of the rules given (``doc`` included when non-empty)."""
        return [n for n in Rules.__slots__ if _given(getattr(self, n))]

    def merged(self, other: Rules) -> Rules:
        """These rules with the ones ``other`` gives on top."""
        out = Rules()
        for name in Rules.__slots__:
            theirs = getattr(other, name)
            setattr(out, name, theirs if _given(theirs) else getattr(self, name))
        return out

    def __repr__(self) -> str:
        return f"Rules({', '.join(f'{n}={getattr(self, n)!r}' for n in self.set_names())})"


def _given(value: Any) -> bool:
    """A rule value other than the 'not given' defaults None, False and ''."""
    return value is not None and value is not False and not (type(value) is str and not value)


_NO_RULES = Rules()


def field_(default: Any = _MISSING, *, default_factory: Any = _MISSING, doc: str = "",
           **rules: Any) -> Any:
    """A dataclass field with constraints (see :class:`Rules`) and a description.

    No ``default`` and no ``default_factory``: the field is required."""
    return dataclasses.field(default=default, default_factory=default_factory,
                             metadata={_KEY: Rules(doc=doc, **rules)})


def field_rules(cls: type, name: str) -> Rules:
    """The rules (constraints, ``doc``) declared on field ``name`` of section ``cls``."""
    return cls.__dataclass_fields__[name].metadata.get(_KEY, _NO_RULES)


_NAMES: dict[type, tuple[str, ...]] = {}


def field_names(cls: type) -> tuple[str, ...]:
    """Field names of section ``cls`` in declaration order."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


# ---- compiling annotations into validators ------------------------------------------------
# A validator is ``v(value, path, issues) -> value`` returning ``_BAD`` (after appending to
# ``issues``) when the value is invalid.

_PLANS: dict[type, tuple] = {}


def _is_section(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _plan(cls: type) -> tuple:
    """(fields as (name, validator, required), field-name set, _check or None), cached."""
    plan = _PLANS.get(cls)
    if plan is not None:
        return plan
    if not _is_section(cls) or not cls.__dataclass_params__.frozen:
        raise TypeError(f"{cls!r} is not a frozen dataclass")
    hints = typing.get_type_hints(cls, include_extras=True)
    entries = []
    for f in dataclasses.fields(cls):
        where = f"{cls.__qualname__}.{f.name}"
        validate = _compile(hints[f.name], f.metadata.get(_KEY, _NO_RULES), where)
        required = f.default is _MISSING and f.default_factory is _MISSING
        entries.append((f.name, validate, required))
    plan = _PLANS[cls] = (tuple(entries), frozenset(e[0] for e in entries),
                          getattr(cls, "_check", None))
    return plan


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _compile(tp: Any, rules: Rules, where: str) -> typing.Callable:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        for extra in tp.__metadata__:
            if isinstance(extra, Rules):
                rules = extra.merged(rules)
        return _compile(args[0], rules, where)
    if origin is Union or origin is types.UnionType:
        rest = tuple(a for a in args if a is not type(None))
        if len(rest) < len(args):  # X | None: rules apply to X
            inner = _compile(functools.reduce(operator.or_, rest), rules, where)
            return lambda v, path, issues: None if v is None else inner(v, path, issues)
        if set(args) == {int, float}:
            return _with_rules(_number_validator("number"), rules, where, _NUMBER_RULES)
        raise TypeError(f"{where}: unsupported union {tp!r} (only X | None and int | float)")
    if tp is int or tp is float:
        return _with_rules(_number_validator(tp.__name__), rules, where, _NUMBER_RULES)
    if tp is bool:
        return _with_rules(_bool, rules, where, ())
    if tp is str:
        return _with_rules(_str, rules, where, ("min_len", "max_len"), "String", "character")
    if tp is Any:
        return _with_rules(lambda v, path, issues: v, rules, where, ())
    if origin is Literal:
        return _with_rules(_literal_validator(args), rules, where, ())
    if origin is dict:
        if args[0] is not str:
            raise TypeError(f"{where}: dict keys must be str, got {tp!r}")
        return _with_rules(_dict_validator(_compile(args[1], _NO_RULES, where)), rules, where, ())
    if origin is list:
        item = _compile(args[0], _NO_RULES, where)
        return _with_rules(_list_validator(item), rules, where, ("min_len", "max_len"),
                           "List", "item")
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _compile(args[0], _NO_RULES, where)
            return _with_rules(_list_validator(item, tuple), rules, where,
                               ("min_len", "max_len"), "Tuple", "item")
        items = tuple(_compile(a, _NO_RULES, where) for a in args)
        return _with_rules(_tuple_validator(items), rules, where, ())
    if _is_section(tp):
        return _with_rules(_section_validator(tp), rules, where, ())
    raise TypeError(f"{where}: unsupported type {tp!r}")


_NUMBER_RULES = ("gt", "ge", "lt", "le", "finite")


def _with_rules(base: typing.Callable, rules: Rules, where: str, allowed: tuple[str, ...],
                noun: str = "", unit: str = "") -> typing.Callable:
    """``base`` followed by the constraint checks of ``rules`` (only ``allowed`` ones)."""
    wrong = set(rules.set_names()) - set(allowed) - {"check", "doc"}
    if wrong:
        raise TypeError(f"{where}: rule(s) {', '.join(sorted(wrong))} do not apply to its type")
    tests: list[tuple[typing.Callable[[Any], bool], typing.Callable[[Any], str]]] = []
    if rules.gt is not None:
        tests.append((lambda v, b=rules.gt: v > b,
                      lambda v, b=rules.gt: f"Input should be greater than {b}"))
    if rules.ge is not None:
        tests.append((lambda v, b=rules.ge: v >= b,
                      lambda v, b=rules.ge: f"Input should be greater than or equal to {b}"))
    if rules.lt is not None:
        tests.append((lambda v, b=rules.lt: v < b,
                      lambda v, b=rules.lt: f"Input should be less than {b}"))
    if rules.le is not None:
        tests.append((lambda v, b=rules.le: v <= b,
                      lambda v, b=rules.le: f"Input should be less than or equal to {b}"))
    if rules.finite:
        tests.append((math.isfinite, lambda v: "Input should be a finite number"))
    if rules.min_len is not None:
        tests.append((lambda v, n=rules.min_len: len(v) >= n,
                      lambda v, n=rules.min_len: f"{noun} should have at least {_plural(n, unit)}"
                      + ("" if noun == "String" else f" after validation, not {len(v)}")))
    if rules.max_len is not None:
        tests.append((lambda v, n=rules.max_len: len(v) <= n,
                      lambda v, n=rules.max_len: f"{noun} should have at most {_plural(n, unit)}"
                      + ("" if noun == "String" else f" after validation, not {len(v)}")))
    check = rules.check
    if not tests and check is None:
        return base

    def validate(v: Any, path: Path, issues: list) -> Any:
        v = base(v, path, issues)
        if v is _BAD:
            return v
        for ok, message in tests:
            if not ok(v):
                issues.append((path, message(v)))
                return _BAD
        return _run_check(check, v, path, issues)

    return validate


def _number_validator(kind: str) -> typing.Callable:
    if kind == "int":
        def validate(v: Any, path: Path, issues: list) -> Any:
            if isinstance(v, int) and not isinstance(v, bool):
                return v if type(v) is int else int(v)
            issues.append((path, "Input should be a valid integer"))
            return _BAD
    elif kind == "float":
        def validate(v: Any, path: Path, issues: list) -> Any:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return v if type(v) is float else float(v)
            issues.append((path, "Input should be a valid number"))
            return _BAD
    else:  # int | float: either, kept as given
        def validate(v: Any, path: Path, issues: list) -> Any:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                issues.append((path, "Input should be a valid number"))
                return _BAD
            if type(v) is int or type(v) is float:
                return v
            return int(v) if isinstance(v, int) else float(v)
    return validate


def _bool(v: Any, path: Path, issues: list) -> Any:
    if v is True or v is False:
        return v
    issues.append((path, "Input should be a valid boolean"))
    return _BAD


def _str(v: Any, path: Path, issues: list) -> Any:
    if isinstance(v, str):
        return v
    issues.append((path, "Input should be a valid string"))
    return _BAD


def _literal_validator(choices: tuple) -> typing.Callable:
    shown = [repr(c) for c in choices]
    expected = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"
    allowed = {(type(c), c) for c in choices}

    def validate(v: Any, path: Path, issues: list) -> Any:
        try:
            if (type(v), v) in allowed:
                return v
        except TypeError:  # unhashable input
            pass
        issues.append((path, f"Input should be {expected}"))
        return _BAD

    return validate


def _dict_validator(value: typing.Callable) -> typing.Callable:
    def validate(v: Any, path: Path, issues: list) -> Any:
        if not isinstance(v, dict):
            issues.append((path, "Input should be a valid dictionary"))
            return _BAD
        out, bad = {}, False
        for key, item in v.items():
            if not isinstance(key, str):
                issues.append(((*path, key, "[key]"), "Input should be a valid string"))
                bad = True
                continue
            item = value(item, (*path, key), issues)
            if item is _BAD:
                bad = True
            out[key] = item
        return _BAD if bad else out

    return validate


def _list_validator(item: typing.Callable, container: type = list) -> typing.Callable:
    what = "Input should be a valid list" if container is list else "Input should be a valid tuple"

    def validate(v: Any, path: Path, issues: list) -> Any:
        if not isinstance(v, (list, tuple)):
            issues.append((path, what))
            return _BAD
        out = [item(x, (*path, i), issues) for i, x in enumerate(v)]
        if any(x is _BAD for x in out):
            return _BAD
        return out if container is list else tuple(out)

    return validate


def _tuple_validator(items: tuple[typing.Callable, ...]) -> typing.Callable:
    n = len(items)

    def validate(v: Any, path: Path, issues: list) -> Any:
        if not isinstance(v, (list, tuple)):
            issues.append((path, "Input should be a valid tuple"))
            return _BAD
        if len(v) > n:
            issues.append((path, (f"Tuple should have at most {_plural(n, 'item')} after "
                                  f"validation, not {len(v)}")))
            return _BAD
        out = []
        for i, check in enumerate(items):
            if i < len(v):
                out.append(check(v[i], (*path, i), issues))
            else:
                issues.append(((*path, i), "Field required"))
                out.append(_BAD)
        return _BAD if any(x is _BAD for x in out) else tuple(out)

    return validate


def _section_validator(cls: type) -> typing.Callable:
    expected = f"Input should be a valid dictionary or instance of {cls.__name__}"

    def validate(v: Any, path: Path, issues: list) -> Any:
        if isinstance(v, cls):
            return v
        if not isinstance(v, dict):
            issues.append((path, expected))
            return _BAD
        return _parse_section(cls, v, path, issues)

    return validate


def _parse_section(cls: type, data: dict, path: Path, issues: list) -> Any:
    entries, names, check = _plan(cls)
    n_issues = len(issues)
    values = {}
    for name, validate, required in entries:
        if name in data:
            values[name] = validate(data[name], (*path, name), issues)
        elif required:
            issues.append(((*path, name), "Field required"))
    if len(data) > len(values):
        for key in data:
            if key not in names:
                issues.append(((*path, key),
                               "unknown key" if isinstance(key, str) else "Keys should be strings"))
    if len(issues) > n_issues:
        return _BAD
    obj = cls(**values)  # omitted fields take their declared defaults
    return _run_check(check, obj, path, issues)


def _run_check(check, value: Any, path: Path, issues: list) -> Any:
    """``value``, or ``_BAD`` with the issue recorded if ``check(value)`` raises ValueError."""
    if check is not None:
        try:
            check(value)
        except ValueError as exc:
            issues.append((path, f"Value error, {exc}"))
            return _BAD
    return value


# ---- public entry points ------------------------------------------------------------------

def format_issues(issues: list[Issue], source: str) -> str:
    """``<source>: field '<dotted.path>': <message>`` per issue, joined by ``"; "``."""
    return "; ".join(
        f"{source}: field {('.'.join(str(p) for p in path) or '<root>')!r}: {message}"
        for path, message in issues)


def parse(cls: type, data: Any, source: str = "<dict>",
          error: type[Exception] = SchemaError) -> Any:
    """Validate plain data (e.g. parsed YAML) into a frozen instance of section ``cls``.

    Raises ``error`` (a :class:`SchemaError` unless given) whose message lists every problem
    found (see :func:`format_issues`); the raised exception carries them as ``issues``."""
    issues: list[Issue] = []
    obj = _section_validator(cls)(data, (), issues)
    if issues:
        exc = error(format_issues(issues, source))
        exc.issues = issues
        raise exc
    return obj


def dump(obj: Any, *, json: bool = False) -> Any:
    """Plain data of a section: nested dicts, lists and tuples (lists with ``json=True``).

    Containers are copied, so the result can be edited and parsed again."""
    cls = type(obj)
    if cls in _NAMES or _is_section(cls):
        return {name: dump(getattr(obj, name), json=json) for name in field_names(cls)}
    if cls is dict:
        return {k: dump(v, json=json) for k, v in obj.items()}
    if cls is list:
        return [dump(v, json=json) for v in obj]
    if cls is tuple:
        items = [dump(v, json=json) for v in obj]
        return items if json else tuple(items)
    if json and isinstance(obj, (set, frozenset)):
        return [dump(v, json=json) for v in obj]
    return obj
