"""Writing a pacs.004 `PmtRtr`, versions .01 to .15: the return the bridge sends of a payment
it received (`tokenbridge return`, a cancellation answered by a return).

Version differences, as the reader (bridge.iso.pacs004) documents them: .01 names its root
`pacs.004.001.01` and writes the reason as `RtrRsn` (closed TransactionRejectReason2Code: any
other code goes in `Prtry`) with `AddtlRtrRsnInf`; agents are `BIC` in .01-.02, `BICFI` from
.03; `OrgnlUETR` exists from .09 (lower-case UUIDv4 pattern). What is written otherwise (GrpHdr
MsgId, CreDtTm, NbOfTxs, SttlmInf/SttlmMtd, InstgAgt, InstdAgt; TxInf RtrId, OrgnlGrpInf,
OrgnlInstrId, OrgnlEndToEndId, OrgnlTxId, OrgnlIntrBkSttlmAmt, RtrdIntrBkSttlmAmt,
IntrBkSttlmDt, RtrRsnInf) has the same name, order and type in every version.

The version follows the original's release (RETURN_VERSIONS: a pacs.008.001.08 is returned in
pacs.004.001.09, its CBPR+ sibling), overridable by configuration (TOKENBRIDGE_RETURN_VERSIONS).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from lxml import etree

from bridge.iso.apphdr import echoed_datetime, iso_utc_datetime, write_reply_header
from bridge.iso.building import new_document
from bridge.iso.pacs002 import CLOSED_REASON_CODES_2006, UETR_PATTERN, additional_info_text, message_bytes
from bridge.money import Amount
from bridge.returns.return_message import PaymentReturnMessage
from bridge.status import ReplyHeader

SUPPORTED_VERSIONS = tuple(f"pacs.004.001.{n:02d}" for n in range(1, 16))
"""pacs.004 versions the bridge writes (and reads)."""

RETURN_VERSIONS: dict[str, str] = {
    "pacs.008.001.02": "pacs.004.001.02",  # 2009
    "pacs.008.001.03": "pacs.004.001.03",  # 2012
    "pacs.008.001.04": "pacs.004.001.04",  # 2013
    "pacs.008.001.05": "pacs.004.001.05",  # 2015
    "pacs.008.001.06": "pacs.004.001.06",  # 2016
    "pacs.008.001.07": "pacs.004.001.08",  # 2018 (pacs.004.001.07, 2017, has no pacs.008 sibling)
    "pacs.008.001.08": "pacs.004.001.09",  # 2019, the CBPR+ pair
    "pacs.008.001.09": "pacs.004.001.10",  # 2020
    "pacs.008.001.10": "pacs.004.001.11",  # 2021
    "pacs.008.001.11": "pacs.004.001.12",  # 2023
    "pacs.008.001.12": "pacs.004.001.13",  # 2024
    "pacs.008.001.13": "pacs.004.001.14",  # 2025
    "pacs.008.001.14": "pacs.004.001.15",  # 2026
}
"""The pacs.004 that returns a payment of each pacs.008 version by default: the one of the same
ISO release, by the generation dates in the official XSDs' headers (pacs.008.001.08 and
pacs.004.001.09 both "2019 Feb 14", ... .14 and .15 both "2026 Mar 02")."""

DEFAULT_RETURN_VERSION = "pacs.004.001.09"
"""For an original whose version is unknown (a payment known only from the ledger)."""

_OLDEST = "pacs.004.001.01"


def return_version(original_type: str | None, overrides: Mapping[str, str] | None = None) -> str:
    """The pacs.004 version that returns a payment of `original_type`; `overrides` win."""
    if original_type and overrides and original_type in overrides:
        return overrides[original_type]
    return RETURN_VERSIONS.get(original_type or "", DEFAULT_RETURN_VERSION)


def parse_return_versions(text: str) -> dict[str, str]:
    """Overrides from configuration: `pacs.008.001.08=pacs.004.001.10,...` (blank: none).

    Raises ValueError on bad syntax, an unknown pacs.008 or pacs.004 version, or a pacs.008
    named twice.
    """
    overrides: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        source, separator, target = (side.strip() for side in item.partition("="))
        if not separator or source not in RETURN_VERSIONS or target not in SUPPORTED_VERSIONS:
            raise ValueError(f"bad return version mapping {item!r}: expected "
                             f"'pacs.008.001.NN=pacs.004.001.NN', pacs.008 from "
                             f"{min(RETURN_VERSIONS)} and pacs.004 from {SUPPORTED_VERSIONS[0]} "
                             f"to {SUPPORTED_VERSIONS[-1]}")
        if source in overrides:
            raise ValueError(f"bad return version mapping: {source} is mapped twice")
        overrides[source] = target
    return overrides


def write_payment_return(message: PaymentReturnMessage, version: str) -> etree._Element:
    """The pacs.004 `Document` for `message` in `version` (pacs.004.001.01 to .15).

    Raises ValueError for a version the bridge does not write.
    """
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"{version!r} is not a pacs.004 version the bridge writes "
                         f"({SUPPORTED_VERSIONS[0]} to {SUPPORTED_VERSIONS[-1]})")
    number = int(version[-2:])
    oldest = version == _OLDEST
    document, add = new_document(version)

    def agent(parent: etree._Element, name: str, bic: str | None) -> None:
        if bic:
            add(add(add(parent, name), "FinInstnId"), "BIC" if number <= 2 else "BICFI", bic)

    def amount(parent: etree._Element, name: str, value: Amount) -> None:
        add(parent, name, format(value.value, "f")).set("Ccy", value.currency)

    root = add(document, _OLDEST if oldest else "PmtRtr")
    header = add(root, "GrpHdr")
    add(header, "MsgId", message.message_id)
    add(header, "CreDtTm", message.created_at_text or iso_utc_datetime(message.created_at))
    add(header, "NbOfTxs", str(len(message.transactions)))
    add(add(header, "SttlmInf"), "SttlmMtd", message.settlement_method)
    agent(header, "InstgAgt", message.instructing_agent.bic if message.instructing_agent else None)
    agent(header, "InstdAgt", message.instructed_agent.bic if message.instructed_agent else None)
    for tx in message.transactions:
        element = add(root, "TxInf")
        if tx.return_id:
            add(element, "RtrId", tx.return_id)
        if tx.original_message is not None:
            group = add(element, "OrgnlGrpInf")
            add(group, "OrgnlMsgId", tx.original_message.message_id)
            add(group, "OrgnlMsgNmId", tx.original_message.message_type)
            created = echoed_datetime(tx.original_message.created_at_text, None)
            if created:
                add(group, "OrgnlCreDtTm", created)
        for name, value in (("OrgnlInstrId", tx.instruction_id), ("OrgnlEndToEndId", tx.end_to_end_id),
                            ("OrgnlTxId", tx.transaction_id)):
            if value:
                add(element, name, value)
        uetr = (tx.uetr or "").lower()
        if number >= 9 and UETR_PATTERN.fullmatch(uetr):
            add(element, "OrgnlUETR", uetr)
        if tx.original_amount is not None:
            amount(element, "OrgnlIntrBkSttlmAmt", tx.original_amount)
        amount(element, "RtrdIntrBkSttlmAmt", tx.returned)
        if tx.settlement_date is not None:
            add(element, "IntrBkSttlmDt", tx.settlement_date.isoformat())
        reason = add(element, "RtrRsnInf")
        code = tx.reason.code
        choice = add(reason, "RtrRsn" if oldest else "Rsn")
        if code and len(code) <= 4 and (not oldest or code in CLOSED_REASON_CODES_2006):
            add(choice, "Cd", code)
        else:
            add(choice, "Prtry", (tx.reason.proprietary or code or "NARR")[:35])
        info = additional_info_text(tx.reason.info)
        if info is not None:
            add(reason, "AddtlRtrRsnInf" if oldest else "AddtlInf", info)
    return document


def write_return_message(message: PaymentReturnMessage, version: str, header: ReplyHeader | None = None,
                         header_version: str = "head.001.001.02") -> bytes:
    """The pacs.004 to publish: bare, or in an Envelope with `header` (an AppHdr related to the
    original's, bridge.iso.apphdr.reply_header) whose MsgDefIdr is the return's version."""
    document = write_payment_return(message, version)
    if header is None:
        return message_bytes(document)
    original = message.transactions[0].original_message if message.transactions else None
    header = replace(header, message_definition_id=version,
                     related_message_definition_id=(header.related_message_definition_id
                                                    or (original.message_type if original else None)))
    if header.related_created_at is None and header.related_created_at_text is None and original:
        header = replace(header, related_created_at_text=original.created_at_text)
    return message_bytes(document, write_reply_header(header, header_version))
