"""The value rules of the contract, each with its fast predicate and its reporting check.

A rule has two faces written side by side: ``ok(value)``, a quick exact-type test for the hot
path (100,000 candidates per stage), and ``check(value, path)``, which returns the value (an
instant parsed) or raises a :class:`ContractError` naming the JSON path. ``ok`` may be stricter
than ``check`` (it refuses ``dict`` / ``str`` subclasses, blanks around instants, ...) but never
laxer: a value ``ok`` accepts passes ``check``. Composite rules (:class:`Record`, :class:`ListOf`,
:class:`MapOf`) are built from fields, so one table of fields drives both faces.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

#: Upper bound of day counts in the configuration (100 years): keeps date arithmetic in range.
MAX_DAYS: Final = 36500


class ContractError(ValueError):
    """A value does not satisfy the contract.

    Parameters
    ----------
    field : str
        JSON path of the offending value, e.g. ``dateRange.start``.
    problem : str
        What is wrong and what is allowed.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)


def join(path: str, key: str | int) -> str:
    """JSON path of ``key`` below ``path``: ``a.b``, ``a[3]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def describe(value: Any) -> str:
    """A short ``repr`` for error messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_number(value: Any) -> bool:
    """True for a finite int or float (``bool`` is not a number here)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


class Rule(Protocol):
    """A kind of value: a fast predicate and the check that names what is wrong."""

    def ok(self, value: Any) -> bool: ...

    def check(self, value: Any, path: str) -> Any: ...


# --------------------------------------------------------------------------------------------
# Scalar rules
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A non-blank string of at most ``max_len`` characters."""

    max_len: int = 1024

    def ok(self, value: Any) -> bool:
        return type(value) is str and 0 < len(value) <= self.max_len and not value.isspace()

    def check(self, value: Any, path: str) -> str:
        if value is None:
            raise ContractError(path, "required")
        if not isinstance(value, str):
            raise ContractError(path, f"expected a string, got {type(value).__name__}")
        if not value.strip():
            raise ContractError(path, "must not be empty")
        if len(value) > self.max_len:
            raise ContractError(path, f"longer than {self.max_len} characters")
        return value


@dataclass(frozen=True)
class KeyPart:
    """A string that can be part of a ``#``-separated DynamoDB key.

    ``#`` separates key components (``CUSTOMER#{customerId}#PROGRAM#...``), so a value holding
    one would make two different candidates share a key.
    """

    text: Text = Text(256)

    def ok(self, value: Any) -> bool:
        return type(value) is str and 0 < len(value) <= self.text.max_len and "#" not in value and not value.isspace()

    def check(self, value: Any, path: str) -> str:
        text = self.text.check(value, path)
        if "#" in text:
            raise ContractError(path, f"must not contain '#': {describe(text)}")
        return text


class Number:
    """A finite int or float (not a bool)."""

    def ok(self, value: Any) -> bool:
        return type(value) is int or (type(value) is float and math.isfinite(value))

    def check(self, value: Any, path: str) -> float:
        if not is_number(value):
            raise ContractError(path, f"expected a finite number, got {describe(value)}")
        return float(value)


class UnitInterval(Number):
    """A number between 0 and 1 (scores and confidences)."""

    def ok(self, value: Any) -> bool:
        return (type(value) is float or type(value) is int) and 0 <= value <= 1

    def check(self, value: Any, path: str) -> float:
        number = super().check(value, path)
        if not 0.0 <= number <= 1.0:
            raise ContractError(path, f"must be between 0 and 1, got {number}")
        return number


class Flag:
    """``true`` or ``false``."""

    def ok(self, value: Any) -> bool:
        return type(value) is bool

    def check(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise ContractError(path, f"expected true or false, got {describe(value)}")
        return value


@dataclass(frozen=True)
class PositiveInt:
    """An integer > 0, at most ``maximum`` when given."""

    maximum: int | None = None

    def ok(self, value: Any) -> bool:
        return type(value) is int and value > 0 and (self.maximum is None or value <= self.maximum)

    def check(self, value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ContractError(path, f"expected an integer > 0, got {describe(value)}")
        if self.maximum is not None and value > self.maximum:
            raise ContractError(path, f"must be at most {self.maximum}, got {value}")
        return value


class AnyObject:
    """A JSON object of any content."""

    def ok(self, value: Any) -> bool:
        return type(value) is dict

    def check(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ContractError(path, f"expected an object, got {type(value).__name__}")
        return value


class AnyList:
    """A JSON list of any content."""

    def ok(self, value: Any) -> bool:
        return type(value) is list

    def check(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise ContractError(path, f"expected a list, got {type(value).__name__}")
        return value


TEXT: Final = Text()
KEY: Final = KeyPart()
NUMBER: Final = Number()
UNIT: Final = UnitInterval()
FLAG: Final = Flag()
POSITIVE_INT: Final = PositiveInt()
DAYS: Final = PositiveInt(MAX_DAYS)
OBJECT: Final = AnyObject()
LIST: Final = AnyList()


# --------------------------------------------------------------------------------------------
# Composite rules: one table of fields for both faces
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """``key`` of an object holds a value of ``rule``; optional fields may be absent or null.

    Null counts as absent because Spark (the Glue step) writes nulls for absent values.
    """

    key: str
    rule: Rule
    optional: bool = False


def optional(key: str, rule: Rule) -> Field:
    """A field that may be absent or null."""
    return Field(key, rule, optional=True)


class Record:
    """An object whose listed fields follow their rules (other keys are allowed and kept)."""

    def __init__(self, *fields: Field) -> None:
        self.fields = fields
        # Bound once: the fast path runs per candidate; its answer does not depend on field order.
        self._required = tuple((f.key, f.rule.ok) for f in fields if not f.optional)
        self._optional = tuple((f.key, f.rule.ok) for f in fields if f.optional)

    def ok(self, value: Any) -> bool:
        if type(value) is not dict:
            return False
        get = value.get
        for key, ok in self._required:
            item = get(key)
            if item is None or not ok(item):
                return False
        for key, ok in self._optional:
            item = get(key)
            if item is not None and not ok(item):
                return False
        return True

    def check(self, value: Any, path: str) -> dict[str, Any]:
        obj = OBJECT.check(value, path)
        for f in self.fields:
            item = obj.get(f.key)
            if item is None and f.optional:
                continue
            f.rule.check(item, join(path, f.key))
        return obj


@dataclass(frozen=True)
class ListOf:
    """A list of ``item`` values, non-empty when ``non_empty``."""

    item: Rule
    non_empty: bool = False

    def ok(self, value: Any) -> bool:
        if type(value) is not list or (self.non_empty and not value):
            return False
        ok = self.item.ok
        return all(ok(entry) for entry in value)

    def check(self, value: Any, path: str) -> list[Any]:
        entries = LIST.check(value, path)
        if self.non_empty and not entries:
            raise ContractError(path, "must not be empty")
        for i, entry in enumerate(entries):
            self.item.check(entry, join(path, i))
        return entries


@dataclass(frozen=True)
class MapOf:
    """An object whose every value is of ``value`` (or null when ``nullable``)."""

    value: Rule
    nullable: bool = False

    def ok(self, value: Any) -> bool:
        if type(value) is not dict:
            return False
        ok, nullable = self.value.ok, self.nullable
        return all(ok(item) or (nullable and item is None) for item in value.values())

    def check(self, value: Any, path: str) -> dict[str, Any]:
        obj = OBJECT.check(value, path)
        for key, item in obj.items():
            if item is None and self.nullable:
                continue
            self.value.check(item, join(path, key))
        return obj


# --------------------------------------------------------------------------------------------
# Reading one field of an object (the parsers of request, configuration and events)
# --------------------------------------------------------------------------------------------


def required(obj: Mapping[str, Any], key: str, path: str, rule: Rule) -> Any:
    """``obj[key]`` checked by ``rule`` (absent or null fails as the rule says)."""
    return rule.check(obj.get(key), join(path, key))


def optional_value(obj: Mapping[str, Any], key: str, path: str, rule: Rule, default: Any = None) -> Any:
    """``obj[key]`` checked by ``rule``, ``default`` when absent or null."""
    value = obj.get(key)
    return default if value is None else rule.check(value, join(path, key))


def key_part(obj: Mapping[str, Any], key: str, path: str) -> str:
    """Return ``obj[key]`` if it can be part of a ``#``-separated DynamoDB key."""
    value: str = KEY.check(obj.get(key), join(path, key))
    return value
