"""Cheaper forms of the hot path's small writers give exactly what the forms they replace gave:
message ids, AppHdr date-times, the audit's canonical JSON, the accounts translation looks up."""
from __future__ import annotations

import hashlib
import json
import random
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from bridge.audit import _canonical, content_hash
from bridge.iso.apphdr import iso_utc_datetime
from bridge.messages import new_message_id
from bridge.parties import AccountId, Party
from bridge.payments.translation import accounts_named, translate_message


def _iso_utc_datetime_before(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    text = moment.replace(microsecond=0, tzinfo=None).isoformat()
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def _content_hash_before(fields) -> str:
    text = json.dumps(fields if isinstance(fields, dict) else dict(fields), sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False, default=_canonical)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_message_ids_keep_their_form() -> None:
    ids = {new_message_id() for _ in range(2000)}
    assert len(ids) == 2000
    for message_id in ids:  # `TB` + the first 30 hex digits of a version-4 UUID
        assert re.fullmatch(r"TB[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{13}", message_id)


def test_iso_utc_datetime_writes_what_it_wrote() -> None:
    rng = random.Random(19)
    zones = [None, timezone.utc, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30)),
             timezone(timedelta(hours=14))]
    micros = [0, 1, 999, 1000, 123456, 999999]
    for _ in range(3000):
        moment = datetime(rng.choice([1, 999, 2026, 9999]) if rng.random() < 0.05 else 2026,
                          rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59),
                          rng.randint(0, 59), rng.choice(micros), tzinfo=rng.choice(zones))
        try:
            expected = _iso_utc_datetime_before(moment)
        except OverflowError:
            continue
        assert iso_utc_datetime(moment) == expected, moment


def test_the_canonical_json_hashes_as_before() -> None:
    rows = [dict(digest="ab" * 32, received_at=datetime(2026, 11, 24, 10, 0, 0, 5), verdict="processed",
                 raw=b"<Document/>", amount=12345, ratio=Decimal("1.2300"), flag=True, none=None,
                 name="Müller € \u2028", day=date(2026, 1, 2), memo=memoryview(b"x"), ba=bytearray(b"y")),
            {"z": 1, "a": [1, "two", None], "m": {"b": 2, "a": b"\x00"}}]
    for row in rows:
        assert content_hash(row) == _content_hash_before(row)
        assert content_hash(list(row.items())) == _content_hash_before(list(row.items()))


def test_the_accounts_named_are_every_account_translation_looks_up() -> None:
    from dataclasses import replace

    from bridge.payments.credit_transfer import UnderlyingCustomerTransfer
    from tests.test_translation import REGISTRY, message, tx
    cover = replace(tx("NOBODY", "BANK-B"), underlying=UnderlyingCustomerTransfer(
        Party("d", AccountId(other="alice")), Party("c", AccountId(iban="bruno"))))
    named = message(tx("ALICE", "BRUNO"), tx(None, " bruno "), tx("ERIK", None), tx("ALICE", "BRUNO"),
                    tx("CHIYO", "DANA", currency="JPY"), tx("OMNI", "NOBODY"), cover)
    looked_up: list[str] = []

    def lookup(key: str):
        looked_up.append(key)
        return REGISTRY.get(key)
    translate_message(named, lookup)
    assert accounts_named(named) == list(dict.fromkeys(looked_up))
    assert "NOBODY" not in accounts_named(message(cover))  # a cover's accounts are its underlying's
