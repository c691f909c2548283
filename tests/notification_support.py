"""Reading the camt.054 notifications and camt.052 reports the bridge writes back, with
xmlschema against the official XSD of their version (an independent reader of the bridge's)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import xmlschema

from bridge.messages import OutboundMessage

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


@cache
def schema(version: str) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMAS / f"{version}.xsd"))


@dataclass(frozen=True)
class Notified:
    """One entry of a notification: whose account, which way, how much, the payment's refs."""

    account: str
    side: str  # CRDT or DBIT
    amount: str
    currency: str
    reversal: bool
    status: str
    refs: dict
    code: str  # the bank transaction code, Domn/Fmly/SubFmly


def account_of(acct: dict) -> str:
    ident = acct["Id"]
    return ident.get("IBAN") or (ident.get("Othr") or ident.get("PrtryAcct"))["Id"]


def entries_of(item: dict, version: str) -> list[dict]:
    """(entry, its first TxDtls) of a Stmt/Rpt/Ntfctn decoded by xmlschema."""
    found = []
    for entry in item.get("Ntry", []):
        details = entry["TxDtls"] if version.endswith(".01") else entry["NtryDtls"][0]["TxDtls"]
        found.append((entry, details[0]))
    return found


def read_notification(message: OutboundMessage) -> list[Notified]:
    """A camt.054's entries, decoded against its XSD (raises when it is not valid)."""
    version = message.message_type
    decoded = schema(version).to_dict(message.body.decode(), decimal_type=str)
    root = decoded["BkToCstmrDbtCdtNtfctnV01" if version.endswith(".01") else "BkToCstmrDbtCdtNtfctn"]
    (notification,) = root["Ntfctn"]
    account = account_of(notification["Acct"])
    found = []
    for entry, tx in entries_of(notification, version):
        status = entry["Sts"] if isinstance(entry["Sts"], str) else entry["Sts"]["Cd"]
        domain = entry["BkTxCd"]["Domn"]
        found.append(Notified(account, entry["CdtDbtInd"], entry["Amt"]["$"], entry["Amt"]["@Ccy"],
                              bool(entry.get("RvslInd", False)), status, dict(tx.get("Refs", {})),
                              f"{domain['Cd']}/{domain['Fmly']['Cd']}/{domain['Fmly']['SubFmlyCd']}"))
    return found


def notifications(sent) -> list[OutboundMessage]:
    return [m for m in sent if m.message_type.startswith("camt.054")]
