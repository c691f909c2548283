"""The camt.054 written straight from postings (bridge.notifications.camt054) is, byte for byte,
the camt.054 the one writer of camt.052/053/054 (bridge.iso.bank_to_customer) writes from the
statements' entries (bridge.statements_out.journal.posting_entry), in every version: for
accounts of every shape, every kind of operation, references with markup, characters XML cannot
hold, overlong values and bad UETRs; and it is valid against the official XSD of its version."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from notification_support import read_notification

from bridge.accounts import RegisteredAccount
from bridge.iso.bank_to_customer import NOTIFICATION
from bridge.iso.reader import MessageReader
from bridge.notifications import notices
from bridge.notifications.camt054 import NotificationWriter
from bridge.notifications.notices import Notifications
from bridge.operations import BURN, MINT, TRANSFER, PaymentRefs, TokenOperation
from bridge.parties import Agent
from bridge.ports import AccountRegistry
from bridge.reconciliation.statement_mints import reversal_key
from bridge.returns.reversal import RETURN_KEY_PREFIX
from bridge.statements import Statement, StatementMessage
from bridge.statements_out.journal import account_id, posting_entry

UETR = "5A1E9C2B-3D4F-4A6B-8C7D-9E0F1A2B3C4D"  # upper case: written lower case from .08 on
FULL = PaymentRefs(message_id="MSG-1", end_to_end_id="E2E-1", transaction_id="TX-1", uetr=UETR,
                   instruction_id="INSTR-1")
ODD = PaymentRefs(message_id="M&S <1> " + "x" * 40, end_to_end_id='E2E "q" \x01 \ufffe',
                  transaction_id=None, uetr="not-a-uetr", instruction_id="")
BARE = PaymentRefs()

ACCOUNTS = [
    RegisteredAccount("DE82500199000417283905", "EUR", "w-alice"),
    RegisteredAccount("de17 5001 9900 0602 5177 30", "EUR", "w-bruno"),  # IBAN-shaped once compact
    RegisteredAccount("JP-TANAKA-001", "JPY", "w-chiyo", scheme="Prtry:TOKENBANK <jp>", issuer="Tanaka & Co"),
    RegisteredAccount("JP-SATO-003-" + "9" * 30, "JPY", "w-sato", scheme="Cd:BBAN-LONG"),
    RegisteredAccount("KW-0001", "KWD", "w-<kw>&"),
    RegisteredAccount("DE89370400440532013000", "KWD", "w-alice"),  # a second currency's account
]


class ListRegistry(AccountRegistry):
    def __init__(self, rows: list[RegisteredAccount]) -> None:
        self.rows = rows

    def get(self, account: str) -> RegisteredAccount | None:
        return next((r for r in self.rows if r.account == account), None)

    def upsert(self, accounts) -> int:
        raise NotImplementedError

    def all(self) -> list[RegisteredAccount]:
        return self.rows


def old_body(version: str, servicer_bic: str | None, message_id: str, created: datetime,
             account: RegisteredAccount, postings, named) -> bytes:
    """What notices.Notifications wrote before: statement objects through the one writer."""
    notification = Statement(
        statement_id=message_id, account=account_id(account), created_at=created,
        currency=account.currency, servicer=Agent(bic=servicer_bic) if servicer_bic else None,
        entries=tuple(posting_entry(i, p, named) for i, p in enumerate(postings)))
    return NOTIFICATION.message(StatementMessage("camt.054", message_id, created, (notification,)),
                                version, pretty=False)


def written_and_expected(monkeypatch, version: str, servicer_bic: str | None,
                         settled, rows: list[RegisteredAccount], clock=None):
    """Each camt.054 `Notifications.of` writes, with what the old writer wrote for the same
    account, postings and message id."""
    ids = (f"TB{n:030x}" for n in itertools.count(1))
    monkeypatch.setattr(notices, "new_message_id", lambda: next(ids))
    pairs = []
    write = NotificationWriter.write

    def spying(self, message_id, created, account, postings, named, formats):
        body = write(self, message_id, created, account, postings, named, formats)
        pairs.append((body, old_body(self.version, servicer_bic, message_id, created, account,
                                     postings, named)))
        return body

    monkeypatch.setattr(NotificationWriter, "write", spying)
    messages = Notifications(version, servicer_bic, clock).of(settled, ListRegistry(rows))
    assert [m.body for m in messages] == [body for body, _ in pairs]
    return messages, pairs


AT = datetime(2026, 11, 24, 10, 30, 1, 123456, tzinfo=timezone.utc)
OPERATIONS = [
    TokenOperation("k-mint", MINT, "EUR", 12345, None, "w-alice", FULL),
    TokenOperation("k-transfer", TRANSFER, "EUR", 1, "w-alice", "w-bruno", ODD),
    TokenOperation("k-burn", BURN, "EUR", 45, "w-bruno", None, BARE),
    TokenOperation(reversal_key("k-mint"), BURN, "EUR", 12345, "w-alice", None, FULL),
    TokenOperation(f"{RETURN_KEY_PREFIX}sha256:ab", TRANSFER, "JPY", 500, "w-chiyo", "w-sato", FULL),
    TokenOperation("k-jp", TRANSFER, "JPY", 7, "w-sato", "w-nobody", ODD),  # counterparty unregistered
    TokenOperation("k-kw", MINT, "KWD", 1001, None, "w-<kw>&", FULL),
    TokenOperation("k-kw-2", TRANSFER, "KWD", 5, "w-<kw>&", "w-alice", FULL),  # w-alice in KWD too
]


@pytest.mark.parametrize("servicer_bic", [None, "TOKNDEFFXXX"])
@pytest.mark.parametrize("version", NOTIFICATION.versions)
def test_the_same_bytes_as_the_statement_writer_in_every_version(monkeypatch, version, servicer_bic) -> None:
    settled = [(op, AT + timedelta(seconds=i)) for i, op in enumerate(OPERATIONS)]
    messages, pairs = written_and_expected(monkeypatch, version, servicer_bic, settled, ACCOUNTS)
    assert len(messages) == 6 and sum(len(read_notification(m)) for m in messages) == 11
    for new, old in pairs:
        assert new == old
    for message in messages:
        read = MessageReader().read(message.body)
        assert read.valid and read.message_type == version, read.findings


@pytest.mark.parametrize("created", [
    datetime(2026, 11, 24, 10, 30),  # naive: taken as UTC
    datetime(2026, 11, 24, 23, 30, 0, 999, tzinfo=timezone(timedelta(hours=-5))),  # another day in UTC
])
def test_the_same_bytes_whatever_the_clock_says(monkeypatch, created) -> None:
    settled = [(op, created) for op in OPERATIONS[:3]]
    for clock in (None, lambda: created + timedelta(milliseconds=5)):
        _, pairs = written_and_expected(monkeypatch, "camt.054.001.08", "TOKNDEFF", settled, ACCOUNTS, clock)
        assert pairs and all(new == old for new, old in pairs)
        monkeypatch.undo()


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
maybe = st.none() | texts


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(version=st.sampled_from(NOTIFICATION.versions),
       refs=st.builds(PaymentRefs, message_id=maybe, end_to_end_id=maybe, transaction_id=maybe,
                      uetr=st.none() | st.just(UETR) | texts, instruction_id=maybe),
       debtor=st.text(min_size=1, max_size=20), creditor=st.text(min_size=1, max_size=20),
       account=st.text(min_size=1, max_size=40), scheme=st.none() | texts.map(lambda t: f"Cd:{t}")
       | texts.map(lambda t: f"Prtry:{t}"), issuer=maybe,
       kind=st.sampled_from([MINT, TRANSFER, BURN]), amount=st.integers(1, 10**15))
def test_the_same_bytes_for_any_text(monkeypatch, version, refs, debtor, creditor, account, scheme,
                                     issuer, kind, amount) -> None:
    rows = [RegisteredAccount(account, "EUR", debtor, scheme=scheme, issuer=issuer),
            RegisteredAccount("DE82500199000417283905", "EUR", creditor)]
    operation = TokenOperation("k", kind, "EUR", amount, None if kind == MINT else debtor,
                               None if kind == BURN else creditor, refs)
    with monkeypatch.context() as patched:
        _, pairs = written_and_expected(patched, version, None, [(operation, AT)], rows)
    assert pairs and all(new == old for new, old in pairs)
