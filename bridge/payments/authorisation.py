"""Who may cause what: crediting our customers is what other banks do; debiting them is not.

Pure rules over the parties a message names and the bank's configuration (`Authority`):

- message level (`authorise_instruction`): the sender, every instructing agent (group and
  transaction) is allowed to instruct, and the message is addressed to the issuer;
- transaction level (`authorise_operation`): a debit of a tokenized wallet (TRANSFER or BURN
  from it) comes through this bank: the debtor's agent is the issuer and every party that sent
  or instructed the transaction is the issuer too (its own channel);
- statements (`authorise_statement`): only the omnibus account's servicer, a statement sender;
- returns (pacs.004): a reversal that debits a wallet as a debit (`authorise_debit`); one that
  credits a wallet back, from the issuer or the bank the payment went to (`authorise_credit_back`).

BICs are compared as institutions (bridge.parties): a BIC8 is its BIC11 with `XXX`.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from bridge.codes import Reason
from bridge.iso.header import BusinessHeader
from bridge.operations import Rejection, TokenOperation
from bridge.parties import Agent, bic_listed, same_institution
from bridge.payments.credit_transfer import CreditTransfer, CreditTransferMessage, GroupHeader
from bridge.statements import StatementMessage

@dataclass(frozen=True, slots=True)
class Authority:
    """Who the bridge takes instructions and statements from.

    Without an issuer there is no addressee check and no debit rule (as before the rule
    existed: a bridge that does not know its bank cannot tell its own channel)."""

    issuer_bic: str | None = None
    allowed_senders: frozenset[str] | None = None  # None: anyone may instruct
    statement_senders: frozenset[str] | None = None  # None: the issuer (see statement_servicers)

    def may_instruct(self, bic: str) -> bool:
        """The issuer's own channel always may; another bank when it is an allowed sender."""
        return same_institution(bic, self.issuer_bic) or (
            self.allowed_senders is None or bic_listed(bic, self.allowed_senders))

    @property
    def statement_servicers(self) -> frozenset[str] | None:
        """Who may send statements: TOKENBRIDGE_STATEMENT_SENDERS, else the issuer itself, else
        (no issuer configured) the allowed senders as before; None: anyone."""
        if self.statement_senders is not None:
            return self.statement_senders
        if self.issuer_bic:
            return frozenset({self.issuer_bic})
        return self.allowed_senders


def _forbidden(info: str) -> Rejection:
    """AG01 TransactionForbidden: the sender may not cause this, or it is not addressed to us."""
    return Rejection(Reason.TRANSACTION_FORBIDDEN, info)


def _header_parties(header: BusinessHeader | None) -> Iterator[tuple[str, str | None]]:
    if header is not None:  # an AppHdr `Fr` without a BIC names a sender no list can allow
        yield "AppHdr/Fr", header.from_bic


def _agent_parties(group: GroupHeader, tx: CreditTransfer | None) -> Iterator[tuple[str, str | None]]:
    if group.instructing_agent is not None:
        yield "GrpHdr/InstgAgt", group.instructing_agent.bic
    if tx is not None and tx.instructing_agent is not None and tx.instructing_agent != group.instructing_agent:
        yield f"CdtTrfTxInf[{tx.index + 1}]/InstgAgt", tx.instructing_agent.bic


def instructing_parties(message: CreditTransferMessage, header: BusinessHeader | None,
                        tx: CreditTransfer | None = None) -> list[tuple[str, str | None]]:
    """Who says they sent or instructed the message (or only transaction `tx` of it): the AppHdr
    `Fr`, the group's instructing agent, the transactions' own; (where, BIC or None)."""
    parties = list(_header_parties(header))
    for each in ((tx,) if tx is not None else message.transactions or (None,)):
        parties.extend(p for p in _agent_parties(message.group_header, each) if p not in parties)
    return parties


def authorise_instruction(message: CreditTransferMessage, header: BusinessHeader | None,
                          authority: Authority) -> Rejection | None:
    """The message-level rule: None when the message may be acted on at all, else an AG01."""
    return authorise_senders(instructing_parties(message, header), header, authority)


def authorise_senders(parties: list[tuple[str, str | None]], header: BusinessHeader | None,
                      authority: Authority, *, may: str = "instruct") -> Rejection | None:
    """Any message's sender rule: every party that says it sent it (`parties`: where, BIC or
    None) is allowed to instruct, and the message is addressed to the issuer; else an AG01
    saying what the sender may not (`may`) do."""
    if authority.allowed_senders is not None:
        if not parties:
            return _forbidden("sender unknown: no AppHdr/Fr nor instructing agent")
        for where, bic in parties:
            if not bic:
                return _forbidden(f"sender unknown: {where} names no BIC")
            if not authority.may_instruct(bic):
                return _forbidden(f"sender {bic} ({where}) is not allowed to {may}")
    return _misaddressed(header, authority)


def _misaddressed(header: BusinessHeader | None, authority: Authority) -> Rejection | None:
    issuer, addressee = authority.issuer_bic, header.to_bic if header else None
    if issuer and addressee and not same_institution(addressee, issuer):
        return _forbidden(f"addressed to {addressee}, not to {issuer}")
    return None


def authorise_operation(operation: TokenOperation, tx: CreditTransfer, message: CreditTransferMessage,
                        header: BusinessHeader | None, authority: Authority) -> Rejection | None:
    """The transaction-level rule, once translation has decided the operation: None when this
    sender may cause it. A debit of a wallet needs the issuer as debtor's agent and as every
    sender and instructing agent; a credit (MINT) needs nothing more than the message rule."""
    issuer = authority.issuer_bic
    if not issuer or operation.debit_wallet is None:
        return None
    what = f"{operation.kind} from a tokenized wallet"
    debtor_agent = _bic_of(tx.debtor_agent)
    if not same_institution(debtor_agent, issuer):
        return _forbidden(f"{what}: the debtor's agent is {debtor_agent or 'not named by BIC'}, "
                          f"not {issuer}; only {issuer} may debit its customers")
    return authorise_debit(what, instructing_parties(message, header, tx), authority)


def authorise_debit(what: str, parties: list[tuple[str, str | None]],
                    authority: Authority) -> Rejection | None:
    """A debit of a wallet (`what`, e.g. a payment's burn or a return's reversal) must come
    through the issuer's own channel: every sender and instructing agent (`parties`: where,
    BIC) is the issuer. None when no issuer is configured."""
    issuer = authority.issuer_bic
    if not issuer:
        return None
    if not parties:
        return _forbidden(f"{what}: sender unknown; a debit must come from {issuer}")
    for where, bic in parties:
        if not same_institution(bic, issuer):
            return _forbidden(f"{what} instructed by {bic or 'an agent without BIC'} "
                              f"({where}); a debit must come through {issuer}'s own channel")
    return None


def authorise_credit_back(what: str, parties: list[tuple[str, str | None]], paid_to: str | None,
                          authority: Authority) -> Rejection | None:
    """A return that credits a wallet back (of a burn: the tokens left for another bank) comes
    from the issuer's own channel or from the bank the payment went to (`paid_to`, the
    original's creditor agent): another bank returns only its own earlier payments."""
    issuer = authority.issuer_bic
    if not issuer:  # as for debits: a bridge that does not know its bank cannot tell who is whom
        return None
    for where, bic in parties:
        if not same_institution(bic, issuer) and not same_institution(bic, paid_to):
            return _forbidden(f"{what} sent by {bic or 'an agent without BIC'} ({where}); the payment "
                              f"went to {paid_to or 'a bank not named by BIC'}")
    return None


def _bic_of(agent: Agent | None) -> str | None:
    return agent.bic if agent is not None else None


def authorise_statement(message: StatementMessage, header: BusinessHeader | None,
                        authority: Authority) -> str | None:
    """Why a camt.053 may not drive the ledger, or None. A statement can mint, and its report
    shows the ledger's figures, so it is taken only from a statement sender: the AppHdr `Fr`,
    and every statement's account servicer (`Acct/Svcr`) where named (without an AppHdr each
    statement must name one). It must also be addressed to the issuer."""
    misaddressed = _misaddressed(header, authority)
    if misaddressed is not None:
        return misaddressed.info
    servicers = authority.statement_servicers
    if servicers is None:
        return None
    claimed = list(_header_parties(header))
    for statement in message.statements:
        bic = _bic_of(statement.servicer)
        if bic or header is None:
            claimed.append((f"Stmt {statement.statement_id} Acct/Svcr", bic))
    for where, bic in claimed:
        if not bic:
            return f"sender unknown: {where} names no BIC"
        if not bic_listed(bic, servicers):
            return f"sender {bic} ({where}) is not allowed to send statements"
    return None
