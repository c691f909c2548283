"""Reading a pacs.009 financial institution credit transfer (versions .02 to .13, core and cover)
into a CreditTransferMessage, the shape a pacs.008 is read into: one handler, one translation
table and one set of key rules serve both (bridge.payments).

The caller has already validated the Document against its own XSD; this module only maps it.
Differences from a pacs.008 and between versions, checked against the official XSDs:
- the root is `FinInstnCdtTrf` in .02 and .03, `FICdtTrf` from .04 on; .01 (2006) has its own
  root (`pacs.009.001.01`) and shape: validated and answered, never applied (as pacs.008.001.01);
- `Dbtr` and `Cdtr` are financial institutions (`FinInstnId`: `BIC` in .02, `BICFI` from .03;
  `Nm`), their accounts `DbtrAcct`/`CdtrAcct`: a party is read as the institution's name (else
  its BIC) with that account;
- there is no `InstdAmt`, `XchgRate` or `ChrgBr` at the transaction's level: a pacs.009 across
  currencies is one whose debtor's and creditor's accounts hold different currencies, priced
  with the bank's rate table (bridge.fx);
- a cover payment carries `UndrlygCstmrCdtTrf` (from .02): the customer credit transfer it
  covers, with `Dbtr`/`Cdtr` as parties (`Nm`), their accounts and agents, and `InstdAmt`;
  `PmtId` inside it appears only in .13. It is read into `UnderlyingCustomerTransfer`;
- `PmtId/UETR` from .08 on (a cover's UETR is its underlying pacs.008's, by market practice);
- .13 (2026) adds `XpryDtTm`, `PmtSgntr`, `RgltryRptg`, `UndrlygAllcn` and `UndrlygFICdtTrf`,
  none of which the bridge reads; it is read like .12.
"""
from __future__ import annotations

from lxml import etree

from bridge.iso import components
from bridge.iso.pacs008 import group_header, party_of, read_transaction, transaction_elements
from bridge.parties import Party
from bridge.payments.credit_transfer import (CreditTransfer, CreditTransferMessage, GroupHeader,
                                             UnderlyingCustomerTransfer)

MESSAGE_FAMILY = "pacs.009.001"
#: Versions this reader maps; .01 is validated and answered, never applied.
SUPPORTED_VERSIONS = frozenset(f"{n:02d}" for n in range(2, 14))


def read_institution_transfer_message(document: etree._Element) -> CreditTransferMessage:
    """Map an XSD-valid pacs.009 Document to a CreditTransferMessage, one CreditTransfer per
    `CdtTrfTxInf`, in document order.

    Raises MessageReadError when `document` is not a pacs.009.001.02-.13 Document.
    """
    version = etree.QName(document).namespace or ""
    root_name = "FinInstnCdtTrf" if version.endswith((".02", ".03")) else "FICdtTrf"
    message_type, root = components.message_root(document, MESSAGE_FAMILY, SUPPORTED_VERSIONS, root_name)
    names = components.local_names(root.ns)
    header = group_header(root)
    transactions = tuple(_transfer(index, tx, names, header)
                         for index, tx in enumerate(transaction_elements(root, names)))
    return CreditTransferMessage(message_type=message_type, group_header=header, transactions=transactions)


def _transfer(index: int, tx: etree._Element, names: dict[str, str], header: GroupHeader) -> CreditTransfer:
    parts = components.firsts(tx, names)
    return read_transaction(index, tx, parts, names, header, debtor=_institution(parts, names, "Dbtr"),
                            creditor=_institution(parts, names, "Cdtr"),
                            underlying=_underlying(parts.get("UndrlygCstmrCdtTrf"), names,
                                                   f"CdtTrfTxInf[{index}]"))


def _institution(parts: dict[str, etree._Element], names: dict[str, str], role: str) -> Party:
    """`Dbtr`/`Cdtr`, a financial institution, with its account `DbtrAcct`/`CdtrAcct`."""
    institution = components.agent_of(parts.get(role), names)
    name = (institution.name or institution.bic or institution.member_id) if institution else None
    return Party(name=name, account=components.account_of(parts.get(f"{role}Acct"), names))


def _underlying(element: etree._Element | None, names: dict[str, str],
                where: str) -> UnderlyingCustomerTransfer | None:
    if element is None:
        return None
    parts = components.firsts(element, names)
    return UnderlyingCustomerTransfer(
        debtor=party_of(parts, names, "Dbtr"),
        creditor=party_of(parts, names, "Cdtr"),
        debtor_agent=components.agent_of(parts.get("DbtrAgt"), names),
        creditor_agent=components.agent_of(parts.get("CdtrAgt"), names),
        instructed_amount=components.amount_of(parts.get("InstdAmt"),
                                               f"{where}/UndrlygCstmrCdtTrf/InstdAmt"),
        remittance=components.remittance_of(parts.get("RmtInf"), names),
    )
