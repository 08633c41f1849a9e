"""Registry of PE kinds by name.

In:  a kind name and its parameters as keywords.
Out: ``pe_kind(name, **params)`` -> a validated, frozen ``PEKind`` instance;
     ``pe_kinds()`` -> registered names (sorted); ``pe_kind_class(name)`` -> the class.

Adding a kind is one class plus one decorator line::

    @register_pe_kind("mykind")
    class MyKind(PEKind):
        act_bits: int = 8
        ...

The decorator turns the class into a frozen, keyword-only dataclass without generated
equality (``PEKind`` compares kinds by parameters, tables by content) unless the class is
already such a dataclass, and records it under ``name``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from .base import PEKind

__all__ = ["pe_kind", "pe_kind_class", "pe_kinds", "register_pe_kind"]

_REGISTRY: dict[str, type[PEKind]] = {}
K = TypeVar("K", bound=type[PEKind])


def register_pe_kind(name: str):
    """Class decorator registering a ``PEKind`` subclass under ``name``."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"PE kind name must be an identifier string, got {name!r}")

    def decorate(cls: K) -> K:
        if not (isinstance(cls, type) and issubclass(cls, PEKind)):
            raise TypeError(f"register_pe_kind({name!r}) needs a PEKind subclass, got {cls!r}")
        if name in _REGISTRY and _REGISTRY[name].__qualname__ != cls.__qualname__:
            raise ValueError(f"PE kind {name!r} is already registered by {_REGISTRY[name]!r}")
        if "__dataclass_fields__" not in cls.__dict__:
            cls = dataclasses.dataclass(frozen=True, eq=False, kw_only=True)(cls)
        else:
            p = cls.__dataclass_params__  # type: ignore[attr-defined]
            if not p.frozen or p.eq:
                raise TypeError(f"PE kind {name!r} must be a dataclass with frozen=True, eq=False")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def pe_kinds() -> list[str]:
    """Names of all registered PE kinds, sorted."""
    return sorted(_REGISTRY)


def pe_kind_class(name: str) -> type[PEKind]:
    """The class registered under ``name``; unknown names raise ValueError listing the kinds."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown PE kind {name!r}; registered kinds: {', '.join(pe_kinds())}"
        ) from None


def pe_kind(name: str, **params: Any) -> PEKind:
    """Build the PE kind ``name`` from ``params`` (unknown parameter names raise ValueError)."""
    cls = pe_kind_class(name)
    valid = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {', '.join(unknown)} for PE kind {name!r}; "
            f"valid parameters: {', '.join(valid)}"
        )
    return cls(**params)
