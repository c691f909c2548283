"""Who may cause what (bridge.payments.authorisation), as pure rules: no store, no XML."""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from bridge.codes import Reason
from bridge.iso.header import BusinessHeader
from bridge.money import Amount
from bridge.operations import BURN, MINT, TRANSFER, TokenOperation
from bridge.parties import AccountId, Agent, Party
from bridge.payments.authorisation import (Authority, authorise_instruction, authorise_operation,
                                           authorise_statement)
from bridge.payments.credit_transfer import CreditTransfer, CreditTransferMessage, GroupHeader
from bridge.statements import Statement, StatementMessage

ISSUER, BNP, BARCLAYS = "TOKNDEFFXXX", "BNPAFRPPXXX", "BARCGB22XXX"
ALLOWED = frozenset({BNP, BARCLAYS})
BANK = Authority(ISSUER, ALLOWED)


def header(sender: str | None = ISSUER, receiver: str | None = ISSUER) -> BusinessHeader:
    return BusinessHeader("urn:iso:std:iso:20022:tech:xsd:head.001.001.02", sender, receiver,
                          "BIZ-1", "pacs.008.001.08")


def tx(index: int = 0, *, debtor_agent: str | None = ISSUER,
       instructing: str | None = None) -> CreditTransfer:
    return CreditTransfer(index=index, end_to_end_id=f"E2E-{index}", amount=Amount(Decimal("10.00"), "EUR"),
                          debtor=Party("Alice", AccountId(iban="DE82500199000417283905")),
                          creditor=Party("Bruno", AccountId(iban="DE17500199000602517730")),
                          debtor_agent=Agent(debtor_agent) if debtor_agent else None,
                          creditor_agent=Agent(ISSUER),
                          instructing_agent=Agent(instructing) if instructing else None)


def message(*transactions: CreditTransfer, instructing: str | None = None) -> CreditTransferMessage:
    group = GroupHeader("MSG-1", None, len(transactions),
                        instructing_agent=Agent(instructing) if instructing else None)
    # as the reader does: a transaction without its own InstgAgt carries the group's
    filled = tuple(t if t.instructing_agent else replace(t, instructing_agent=group.instructing_agent)
                   for t in transactions)
    return CreditTransferMessage("pacs.008.001.08", group, filled)


def operation(kind: str) -> TokenOperation:
    return TokenOperation("K-1", kind, "EUR", 1000,
                          debit_wallet="w-alice" if kind in (TRANSFER, BURN) else None,
                          credit_wallet="w-bruno" if kind in (MINT, TRANSFER) else None)


# -- the message: sender, every instructing agent, addressee ---------------------------------

@pytest.mark.parametrize("listed, sender", [
    ("BARCGB22", "BARCGB22XXX"), ("BARCGB22XXX", "BARCGB22"), ("barcgb22xxx", "BARCGB22"),
    ("BARCGB22XXX", "BARCGB22LDN"),  # a BIC8 (= BIC11 XXX) covers every office of the bank
])
def test_a_bic8_is_the_same_institution_as_its_bic11_xxx(listed, sender) -> None:
    authority = Authority(ISSUER, frozenset({listed}))
    assert authorise_instruction(message(tx(), instructing=sender), None, authority) is None


@pytest.mark.parametrize("listed, sender", [("BARCGB22LDN", "BARCGB22XXX"), ("BARCGB22LDN", "BARCGB22MAN"),
                                            ("BARCGB22", "BARCGB2L")])
def test_a_listed_branch_covers_that_branch_only(listed, sender) -> None:
    authority = Authority(ISSUER, frozenset({listed}))
    refused = authorise_instruction(message(tx(), instructing=sender), None, authority)
    assert refused.reason == Reason.TRANSACTION_FORBIDDEN and "not allowed to instruct" in refused.info
    assert authorise_instruction(message(tx(), instructing=listed), None, authority) is None


def test_every_transaction_level_instructing_agent_must_be_allowed() -> None:
    refused = authorise_instruction(message(tx(0), tx(1, instructing="DEUTDEFFXXX"), instructing=BNP),
                                    None, BANK)
    assert refused.reason == Reason.TRANSACTION_FORBIDDEN
    assert "DEUTDEFFXXX" in refused.info and "CdtTrfTxInf[2]/InstgAgt" in refused.info


def test_without_fr_nor_group_agent_the_transactions_agents_are_the_senders() -> None:
    # sample 07's shape: no AppHdr, no GrpHdr/InstgAgt, each transaction names its own
    assert authorise_instruction(message(tx(0, instructing=BNP), tx(1, instructing=ISSUER)),
                                 None, BANK) is None
    unknown = authorise_instruction(message(tx(0)), None, BANK)
    assert unknown.reason == Reason.TRANSACTION_FORBIDDEN and "sender unknown" in unknown.info


def test_the_apphdr_sender_must_be_allowed_even_when_the_agents_are() -> None:
    refused = authorise_instruction(message(tx(), instructing=BNP), header("DEUTDEFFXXX"), BANK)
    assert refused.reason == Reason.TRANSACTION_FORBIDDEN and "DEUTDEFFXXX (AppHdr/Fr)" in refused.info
    no_bic = authorise_instruction(message(tx(), instructing=BNP), header(None), BANK)
    assert no_bic.reason == Reason.TRANSACTION_FORBIDDEN and "AppHdr/Fr names no BIC" in no_bic.info


def test_the_issuers_own_channel_may_instruct_without_being_listed() -> None:
    assert authorise_instruction(message(tx(), instructing="TOKNDEFF"), header("tokndeffxxx"), BANK) is None


def test_the_addressee_is_compared_as_an_institution() -> None:
    assert authorise_instruction(message(tx(), instructing=BNP), header(BNP, "TOKNDEFF"), BANK) is None
    refused = authorise_instruction(message(tx(), instructing=BNP), header(BNP, "DEUTDEFFXXX"), BANK)
    assert refused.reason == Reason.TRANSACTION_FORBIDDEN and "addressed to DEUTDEFFXXX" in refused.info
    assert authorise_instruction(message(tx(), instructing=BNP), header(BNP, "DEUTDEFFXXX"),
                                 Authority(None, ALLOWED)) is None  # no issuer: no addressee check


def test_without_allowed_senders_anyone_may_instruct() -> None:
    assert authorise_instruction(message(tx(), instructing="DEUTDEFFXXX"), None, Authority(ISSUER)) is None


# -- the transaction: may this sender cause this operation ------------------------------------

@pytest.mark.parametrize("kind", [TRANSFER, BURN])
def test_a_foreign_bank_may_not_debit_our_customers(kind) -> None:
    # an allowed bank that claims our customer's wallet as its debtor, with us as debtor's agent
    spoofed = tx(debtor_agent=ISSUER)
    refused = authorise_operation(operation(kind), spoofed, message(spoofed, instructing=BARCLAYS),
                                  header(BARCLAYS), BANK)
    assert refused.reason == Reason.TRANSACTION_FORBIDDEN and BARCLAYS in refused.info and kind in refused.info
    # and one that names itself as the debtor's agent, even sent through our own channel
    theirs = tx(debtor_agent=BARCLAYS)
    refused = authorise_operation(operation(kind), theirs, message(theirs, instructing=ISSUER),
                                  header(ISSUER), BANK)
    assert refused.reason == Reason.TRANSACTION_FORBIDDEN and "debtor's agent is BARCGB22XXX" in refused.info


@pytest.mark.parametrize("kind", [TRANSFER, BURN])
def test_a_debit_through_the_issuers_own_channel_is_allowed(kind) -> None:
    ours = tx(debtor_agent="TOKNDEFF")
    assert authorise_operation(operation(kind), ours, message(ours, instructing=ISSUER),
                               header("TOKNDEFFXXX"), BANK) is None
    branch = tx(debtor_agent="TOKNDEFF100", instructing="TOKNDEFF100")  # an office of the issuer
    assert authorise_operation(operation(kind), branch, message(branch), None, BANK) is None


def test_a_debit_needs_every_instructing_party_to_be_the_issuer() -> None:
    relayed = tx(debtor_agent=ISSUER, instructing=BNP)  # our Fr, but BNP instructed the transaction
    refused = authorise_operation(operation(TRANSFER), relayed, message(relayed, instructing=ISSUER),
                                  header(ISSUER), BANK)
    assert refused.reason == Reason.TRANSACTION_FORBIDDEN and "CdtTrfTxInf[1]/InstgAgt" in refused.info
    anonymous = tx(debtor_agent=ISSUER)
    refused = authorise_operation(operation(BURN), anonymous, message(anonymous), None, BANK)
    assert refused.reason == Reason.TRANSACTION_FORBIDDEN and "sender unknown" in refused.info
    no_agent = tx(debtor_agent=None, instructing=ISSUER)
    assert authorise_operation(operation(BURN), no_agent, message(no_agent), None, BANK).reason == Reason.TRANSACTION_FORBIDDEN


def test_a_foreign_bank_may_credit_our_customers() -> None:
    credit = tx(debtor_agent=BARCLAYS)
    assert authorise_operation(operation(MINT), credit, message(credit, instructing=BARCLAYS),
                               header(BARCLAYS), BANK) is None


def test_without_an_issuer_there_is_no_debit_rule() -> None:
    theirs = tx(debtor_agent=BARCLAYS)
    assert authorise_operation(operation(TRANSFER), theirs, message(theirs, instructing=BARCLAYS),
                               None, Authority(None, ALLOWED)) is None


# -- statements --------------------------------------------------------------------------------

def statements(*servicers: str | None) -> StatementMessage:
    return StatementMessage("camt.053.001.08", "STMT-1", None, tuple(
        Statement(f"S-{n}", AccountId(iban="DE56500199000990000018"), servicer=Agent(bic) if bic else None)
        for n, bic in enumerate(servicers)))


def test_by_default_only_the_issuer_sends_statements() -> None:
    assert authorise_statement(statements("TOKNDEFF"), None, BANK) is None
    refused = authorise_statement(statements(BARCLAYS), None, BANK)  # an allowed sender, not a servicer
    assert "BARCGB22XXX" in refused and "not allowed to send statements" in refused
    assert "not allowed" in authorise_statement(statements(ISSUER), header(BARCLAYS), BANK)


def test_statement_senders_name_the_omnibus_servicers() -> None:
    central = Authority(ISSUER, ALLOWED, frozenset({"MARKDEFF"}))
    assert authorise_statement(statements("MARKDEFFXXX"), header("MARKDEFFXXX"), central) is None
    assert "not allowed" in authorise_statement(statements(ISSUER), None, central)
    # the AppHdr sender is listed, but a statement in it claims another servicer
    mixed = authorise_statement(statements("MARKDEFFXXX", BNP), header("MARKDEFFXXX"), central)
    assert "BNPAFRPPXXX (Stmt S-1 Acct/Svcr)" in mixed


def test_a_statement_sender_must_be_named() -> None:
    assert "sender unknown" in authorise_statement(statements(None), None, BANK)
    assert authorise_statement(statements(None), header(ISSUER), BANK) is None  # Fr names it


def test_a_statement_addressed_to_another_bank_is_refused() -> None:
    assert "addressed to DEUTDEFFXXX" in authorise_statement(statements(ISSUER), header(ISSUER, "DEUTDEFFXXX"), BANK)


def test_without_issuer_nor_statement_senders_statements_follow_the_allowed_senders() -> None:
    assert authorise_statement(statements(BARCLAYS), None, Authority(None, ALLOWED)) is None
    assert "not allowed" in authorise_statement(statements("DEUTDEFFXXX"), None, Authority(None, ALLOWED))
    assert authorise_statement(statements("DEUTDEFFXXX"), None, Authority()) is None  # nothing configured
