"""Sweep rules (TOKENBRIDGE_SWEEPS): a TOML file of `[[sweep]]` tables, each keeping a group's
member wallets at a target balance against its header wallet.

    [[sweep]]
    name = "helix-eod"           # part of every sweep's key: letters, digits, . _ -
    header = "w-helix-treasury"  # the wallet that receives excesses and pays top-ups
    members = ["w-helix-de", "w-helix-fr"]
    target = "0.00"              # each member's balance after a sweep (its own currency)
    floor = "-0.01"              # optional: top up only a member below it (else: below target)
    at = "17:30"                 # HH:MM in TOKENBRIDGE_TIMEZONE, once a day
    # threshold = "5000.00"      # or: as soon as a member is further than this from its target

Amounts are decimal strings in each member's currency (read when a run meets the wallets).
A file that cannot be used is refused whole when the configuration loads, with its line.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import time
from decimal import Decimal, InvalidOperation

NAME_MAX = 32
"""A rule's name goes into every sweep's idempotency key (100 characters with member and period)."""

_NAME = re.compile(rf"[A-Za-z0-9._-]{{1,{NAME_MAX}}}")
_AMOUNT = re.compile(r"-?\d{1,18}(\.\d{1,3})?")
_AT = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_TABLE = re.compile(r"^\s*\[\[\s*sweep\s*\]\]")
_KEYS = {"name", "header", "members", "target", "floor", "at", "threshold"}


class SweepRulesError(ValueError):
    """A sweeps file that cannot be used; the message names the line."""


@dataclass(frozen=True, slots=True)
class SweepRule:
    """One rule: bring each of `members` to `target` against `header`, daily `at` a local time
    or whenever a member is more than `threshold` from its target. Amounts in major units."""

    name: str
    header: str
    members: tuple[str, ...]
    target: Decimal
    floor: Decimal | None = None
    at: time | None = None
    threshold: Decimal | None = None


def parse_sweep_rules(text: str) -> list[SweepRule]:
    """The rules of a sweeps file, or SweepRulesError saying what is wrong and on which line."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SweepRulesError(f"not TOML: {error}") from None
    lines = text.splitlines()
    unknown = set(document) - {"sweep"}
    if unknown:
        raise SweepRulesError(f"line {_line_of_key(lines, 0, len(lines), sorted(unknown)[0])}: "
                              f"unknown table or key {sorted(unknown)[0]!r} (only [[sweep]] tables)")
    tables = document.get("sweep", [])
    if not isinstance(tables, list):
        raise SweepRulesError("`sweep` must be an array of tables ([[sweep]])")
    starts = [i for i, line in enumerate(lines) if _TABLE.match(line)] + [len(lines)]
    rules: list[SweepRule] = []
    for index, table in enumerate(tables):
        start, end = (starts[index], starts[index + 1]) if index + 1 < len(starts) else (0, len(lines))
        rules.append(_rule(table, lines, start, end))
    names = [r.name for r in rules]
    for index, name in enumerate(names):
        if names.index(name) != index:
            raise SweepRulesError(f"line {starts[index] + 1}: a second rule named {name!r}")
    return rules


def _rule(table: dict, lines: list[str], start: int, end: int) -> SweepRule:
    def fail(key: str | None, problem: str) -> SweepRulesError:
        line = _line_of_key(lines, start, end, key) if key else start + 1
        return SweepRulesError(f"line {line}: {problem}")

    for key in table:
        if key not in _KEYS:
            raise fail(key, f"unknown key {key!r} (known: {', '.join(sorted(_KEYS))})")
    for key in ("name", "header", "members", "target"):
        if key not in table:
            raise fail(None, f"[[sweep]] without `{key}`")
    name = table["name"]
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise fail("name", f"name must be 1 to {NAME_MAX} letters, digits or . _ -, not {name!r}")
    header = table["header"]
    if not isinstance(header, str) or not header.strip():
        raise fail("header", "header must be a wallet (a non-empty string)")
    members = table["members"]
    if (not isinstance(members, list) or not members
            or not all(isinstance(m, str) and m.strip() for m in members)):
        raise fail("members", "members must be a non-empty list of wallets")
    if len(set(members)) != len(members) or header in members:
        raise fail("members", "members must be distinct wallets, the header not among them")
    if ("at" in table) == ("threshold" in table):
        raise fail(None, f"rule {name!r} needs either `at` (HH:MM) or `threshold`, not both or neither")
    at = None
    if "at" in table:
        found = _AT.fullmatch(table["at"]) if isinstance(table["at"], str) else None
        if found is None:
            raise fail("at", f"at must be HH:MM (00:00 to 23:59), not {table['at']!r}")
        at = time(int(found.group(1)), int(found.group(2)))
    target = _amount(table, "target", fail)
    floor = _amount(table, "floor", fail) if "floor" in table else None
    threshold = _amount(table, "threshold", fail) if "threshold" in table else None
    if floor is not None and floor > target:
        raise fail("floor", f"floor {floor} is above the target {target}: a top-up would overshoot")
    if threshold is not None and threshold <= 0:
        raise fail("threshold", "threshold must be positive")
    return SweepRule(name, header.strip(), tuple(m.strip() for m in members), target, floor, at, threshold)


def _amount(table: dict, key: str, fail) -> Decimal:
    value = table[key]
    # A TOML float would already have lost exactness: amounts are strings.
    if not isinstance(value, str) or not _AMOUNT.fullmatch(value.strip()):
        raise fail(key, f"{key} must be a decimal string such as \"1000.00\", not {value!r}")
    try:
        return Decimal(value.strip())
    except InvalidOperation:
        raise fail(key, f"{key} {value!r} is not a number") from None


def _line_of_key(lines: list[str], start: int, end: int, key: str) -> int:
    """The 1-based line where `key = ...` is written within [start, end) (else start's)."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for i in range(start, end):
        if pattern.match(lines[i]):
            return i + 1
    return start + 1
