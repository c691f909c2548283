"""Fuzzing: mutated valid messages never crash or hang the reader or the pipeline; every
outcome is a clear verdict, and the ledger stays consistent."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.iso.reader import MessageReader
from bridge.bus import MessageBus
from builders import Tx, app_header, pacs008, swift_envelope

ALICE, FATIMA = "DE82500199000417283905", "FR7630004008280001058392658"
SEEDS = [
    pacs008([Tx(amount="12.34", debtor_iban=FATIMA, creditor_iban=ALICE)]).encode(),
    swift_envelope(pacs008([Tx(debtor_iban=FATIMA, creditor_iban=ALICE), Tx()], version="13"),
                   app_header()).encode(),
    pacs008([Tx(amount="7", currency="JPY")], version="02").encode(),
]
READER = MessageReader()


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "duplicate", "digits"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from([b"<", b">", b"&", b"<!DOCTYPE x>", b"\x00", b"\xff",
                                                b"9" * 40, b"-", b".", b"</Document>", b"&amp;"]))
        elif kind == "delete" and data:
            del data[at:at + draw(st.integers(1, 40))]
        elif kind == "duplicate" and data:
            end = min(len(data), at + draw(st.integers(1, 200)))
            data[at:at] = data[at:end]
        elif kind == "digits":
            for i in range(at, min(len(data), at + 8)):
                if chr(data[i]).isdigit():
                    data[i] = ord(str(draw(st.integers(0, 9))))
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_reader_never_raises_and_always_explains(data: bytes) -> None:
    result = READER.read(data)
    assert result.valid or result.findings
    for finding in result.findings:
        assert finding.rule and finding.message and len(finding.reason) == 4


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(batch=st.lists(mutated(), min_size=1, max_size=5))
def test_pipeline_answers_mutants_and_keeps_the_ledger_consistent(sqlite_registry_module, batch) -> None:
    pipeline = MessageBus(READER, sqlite_registry_module, is_transient=sqlite_registry_module.is_transient)
    for data in batch:
        outcome = pipeline.handle(data)
        assert outcome.verdict in ("accepted", "partial", "rejected", "refused")
        if outcome.verdict != "refused":
            assert outcome.reply is not None and READER.read(outcome.reply.body).valid
    with sqlite_registry_module() as uow:
        balances = uow.ledger.balances()
        supply = uow.ledger.supply()
    for currency, units in supply.items():
        assert units == sum(b.balance for b in balances if b.currency == currency)
    assert all(b.balance >= 0 for b in balances)
