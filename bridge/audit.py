"""The audit trail: every inbox record, every ledger operation and every operation's postings
are links in one hash chain, so that no row can be edited, deleted or slipped in without
`audit verify` finding it. The money derived from the postings (each wallet's balance row, each
currency's supply) is recomputed from the certified postings and compared (`check_money`).

link hash = SHA-256(previous link hash | entity | reference | SHA-256(canonical content))
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bridge.ports import issuance_holder

GENESIS = "0" * 64
# Chained entities: a row of inbox / operations / evm_operations, and the set of postings of one
# operation (reference: the operation's key). At most 10 characters (audit_links.entity).
INBOX, OPERATION, POSTINGS, EVM_OPERATION = "inbox", "operation", "postings", "evm_op"
RETURN = "return"  # one return of a payment (pacs.004 in, or the operator's `tokenbridge return`)
ACTION = "action"  # an operator's action through the API (reference: its sequence number)
# What the money checks name: one posting row, one balance row, one currency's supply.
POSTING, BALANCE, SUPPLY, CHAIN = "posting", "balance", "supply", "chain"
TABLES = {INBOX: "inbox", OPERATION: "operations", POSTINGS: "postings", POSTING: "postings",
          EVM_OPERATION: "evm_operations", RETURN: "return_entries", ACTION: "operator_actions", BALANCE: "balances", SUPPLY: "postings, balances",
          CHAIN: "audit_head"}
LINKS = "audit_links"
SUPPLY_TABLE = "supply"  # the SQL ledger's stored supply per currency (its range check reads it)
_SAID = {POSTINGS: "postings of operation", EVM_OPERATION: "evm operation",
         ACTION: "operator action"}
ISSUANCE = issuance_holder("")  # the prefix of every currency's issuance account


def _canonical(value: Any) -> Any:
    """A value JSON has no form for: bytes as their SHA-256, anything else (times) as text."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    return str(value)


_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                   default=_canonical)
"""What `json.dumps` with these options builds on every call (the same bytes), built once: it
keeps no state between calls."""


def content_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 of a row's fields in a canonical JSON form (sorted keys, bytes as their SHA-256,
    times as text), so the same content always hashes the same on any database. Text, integers,
    booleans and None are JSON's own; only the rest goes through `_canonical` (json's `default`
    hook, so no walk over every value: the same bytes as the walk of migration 0003's days, see
    tests/test_audit_money.py)."""
    text = _CANONICAL_JSON.encode(fields if isinstance(fields, dict) else dict(fields))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def link_hash(previous: str, entity: str, reference: str, entry: str) -> str:
    return hashlib.sha256(f"{previous}|{entity}|{reference}|{entry}".encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Link:
    sequence: int
    entity: str  # inbox or operation
    reference: str  # the inbox digest or the idempotency key
    entry_hash: str
    previous_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class BrokenLink:
    """One finding: what (entity and reference: a key, a posting id, a wallet and currency),
    in which table, at which link of the chain (None: found outside the chain), and why."""
    sequence: int | None
    entity: str
    reference: str
    problem: str
    in_table: str | None = None  # where the fault is, when not in the entity's own table

    @property
    def table(self) -> str:
        return self.in_table or TABLES.get(self.entity, self.entity)

    def __str__(self) -> str:
        at = f", link {self.sequence}" if self.sequence is not None else ""
        what = _SAID.get(self.entity, self.entity)
        return f"{what} {self.reference} (table {self.table}{at}): {self.problem}"

    def as_json(self) -> dict[str, Any]:
        return {"table": self.table, "entity": self.entity, "reference": self.reference,
                "link": self.sequence, "problem": self.problem}


def posting_content(holder: str, counterparty: str, currency: str, amount: int,
                    posted_at: datetime) -> tuple[str, str, str, int, str]:
    """A posting's certified fields, in the form the chain hashes them."""
    return holder, counterparty, currency, amount, str(posted_at)


@dataclass(frozen=True, slots=True)
class Leg:
    """One posting as the money checks see it (`id`: the store's posting id, None when new)."""
    holder: str
    counterparty: str
    currency: str
    amount: int  # signed minor units, credit positive
    posted_at: datetime
    id: int | None = None

    def content(self) -> tuple[str, str, str, int, str]:
        return posting_content(self.holder, self.counterparty, self.currency, self.amount,
                               self.posted_at)

    def __str__(self) -> str:
        return (f"{self.holder} {self.amount:+d} {self.currency} (counterparty {self.counterparty}, "
                f"{self.posted_at})")


def postings_digest(contents: Iterable[tuple[str, str, str, int, str]]) -> str:
    """What a POSTINGS link certifies: an operation's postings (`Leg.content()` each), in a
    canonical order, hashed as `content_hash({"postings": [...]})` would, without its per-value
    walk (one per operation on the hot path). The posting ids are the store's numbering, not
    money; which operation a posting belongs to is certified by the set it is in."""
    text = json.dumps({"postings": sorted(contents)}, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class LedgerOperation:
    """What the double entry of an operation follows from (an `operations` row)."""
    key: str
    currency: str
    amount: int
    debit_wallet: str | None
    credit_wallet: str | None
    applied_at: datetime


def legs_of(operation: LedgerOperation) -> list[Leg]:
    """The two postings of an operation: the debited side (a wallet, or the currency's issuance
    account for a mint) gives the amount to the credited side (a wallet, or issuance for a burn)."""
    debit = operation.debit_wallet or issuance_holder(operation.currency)
    credit = operation.credit_wallet or issuance_holder(operation.currency)
    return [Leg(debit, credit, operation.currency, -operation.amount, operation.applied_at),
            Leg(credit, debit, operation.currency, operation.amount, operation.applied_at)]


def check_money(operations: Mapping[int, LedgerOperation], postings: Mapping[int, Iterable[Leg]],
                balances: Mapping[tuple[str, str], int],
                stored_supply: Mapping[str, int] | None = None) -> list[BrokenLink]:
    """The money, recomputed from the postings and held against the rest:
    - every posting belongs to an operation and is one of its two legs, and no leg is missing;
    - each wallet's balance row equals the sum of its postings, per currency (no row missing,
      none extra; the issuance accounts have no balance row);
    - each currency's supply (what its issuance account gave out) equals the sum of its
      wallets' balance rows, and the supply the ledger keeps per currency (`stored_supply`,
      where it keeps one: it bounds the ledger's range) equals it too.
    `operations` by sequence, `postings` by their operation's sequence, `balances` by (wallet,
    currency) as the balances table holds them. Findings in table order."""
    findings: list[BrokenLink] = []
    for seq in sorted(set(postings) - set(operations)):
        for leg in postings[seq]:
            findings.append(BrokenLink(None, POSTING, str(leg.id), f"belongs to no operation "
                                       f"(operation_seq {seq}): it was slipped in ({leg})"))
    for seq, operation in sorted(operations.items()):
        expected = Counter(leg.content() for leg in legs_of(operation))
        for leg in sorted(postings.get(seq, ()), key=lambda leg: leg.id or 0):
            if expected[leg.content()] > 0:
                expected[leg.content()] -= 1
            else:
                findings.append(BrokenLink(None, POSTING, str(leg.id), f"is not a leg of operation "
                                           f"{operation.key}: {leg}"))
        for content, missing in sorted(expected.items()):
            if missing > 0:
                leg = Leg(*content)
                findings.append(BrokenLink(None, OPERATION, operation.key,
                                           f"its posting {leg} is missing", TABLES[POSTING]))
    held: dict[tuple[str, str], int] = defaultdict(int)
    issued: dict[str, int] = defaultdict(int)
    for legs in postings.values():
        for leg in legs:
            if leg.holder.startswith(ISSUANCE):
                issued[leg.currency] -= leg.amount
            else:
                held[(leg.holder, leg.currency)] += leg.amount
    for wallet, currency in sorted(held.keys() | balances.keys()):
        where = (None, BALANCE, f"{wallet} {currency}")
        if wallet.startswith(ISSUANCE):
            findings.append(BrokenLink(*where, f"the row says {balances[(wallet, currency)]}, yet an "
                                               "issuance account has no balance row (its postings "
                                               "are the supply): it was slipped in"))
        elif (wallet, currency) not in balances:
            findings.append(BrokenLink(*where, f"no row, yet its postings sum to "
                                               f"{held[(wallet, currency)]}: it was deleted"))
        elif (wallet, currency) not in held:
            findings.append(BrokenLink(*where, f"the row says {balances[(wallet, currency)]}, yet "
                                               "it has no postings: it was slipped in"))
        elif balances[(wallet, currency)] != held[(wallet, currency)]:
            findings.append(BrokenLink(*where, f"the row says {balances[(wallet, currency)]}, its "
                                               f"postings sum to {held[(wallet, currency)]}"))
    in_rows: dict[str, int] = defaultdict(int)
    for (_, currency), balance in balances.items():
        in_rows[currency] += balance
    for currency in sorted(issued.keys() | in_rows.keys()):
        if issued[currency] != in_rows[currency]:
            findings.append(BrokenLink(None, SUPPLY, currency, f"the issuance postings gave out "
                                       f"{issued[currency]}, the balance rows add up to "
                                       f"{in_rows[currency]}"))
    for currency in sorted((stored_supply or {}).keys() | (issued.keys() if stored_supply is not None else set())):
        kept = (stored_supply or {}).get(currency, 0)
        if kept != issued[currency]:
            findings.append(BrokenLink(None, SUPPLY, currency, f"the supply row says {kept}, the "
                                       f"issuance postings gave out {issued[currency]}",
                                       SUPPLY_TABLE))
    return findings


def verify_chain(links: Iterable[Link], current: Callable[[str, str], Mapping[str, Any] | str | None],
                 head: str, recorded: Mapping[str, set[str]]) -> list[BrokenLink]:
    """Check every link against its predecessor, and the row each reference certifies, as it is
    now (`current(entity, reference)`), against that reference's latest link (a row that
    legitimately changes, such as a status, gets a new link). Then check that `head` is the last
    link and that every row in `recorded` (entity -> references in the store) has a link.
    Breaks come in chain order: the first is the first broken link."""
    breaks: list[BrokenLink] = []
    previous = GENESIS
    latest: dict[tuple[str, str], Link] = {}
    for link in links:
        where = (link.sequence, link.entity, link.reference)
        if link.previous_hash != previous:
            breaks.append(BrokenLink(*where, "does not follow the previous link (a link was "
                                             "removed, inserted or reordered)", LINKS))
        if link_hash(link.previous_hash, link.entity, link.reference, link.entry_hash) != link.hash:
            breaks.append(BrokenLink(*where, "the link's own hash does not match (the chain row "
                                             "was edited)", LINKS))
        latest[(link.entity, link.reference)] = link
        previous = link.hash
    for (entity, reference), link in sorted(latest.items(), key=lambda item: item[1].sequence):
        row = current(entity, reference)  # its fields, or their digest already (a str)
        if row is None:
            breaks.append(BrokenLink(link.sequence, entity, reference, "the row it certifies is gone"
                                     if entity != POSTINGS else "their operation's row is gone"))
        elif (row if isinstance(row, str) else content_hash(row)) != link.entry_hash:
            breaks.append(BrokenLink(link.sequence, entity, reference, "the row it certifies was changed"
                                     if entity != POSTINGS else "they were changed (a posting "
                                     "edited, deleted, added or moved)"))
    breaks.sort(key=lambda b: b.sequence)
    linked: dict[str, set[str]] = {}
    for entity, reference in latest:
        linked.setdefault(entity, set()).add(reference)
    if previous != head:
        breaks.append(BrokenLink(None, CHAIN, "head", "the chain's head does not match its last "
                                                         "link (links were cut off the end)"))
    for entity, references in recorded.items():
        for reference in sorted(references - linked.get(entity, set())):
            breaks.append(BrokenLink(None, entity, reference, "row has no link: it was slipped in"))
    return breaks
