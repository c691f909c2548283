"""Writing the pain.002 `CstmrPmtStsRpt` that answers a pain.001, versions .02 to .15.

Differences between versions, checked against the official XSDs (only what a reply writes):
- .02 (2006, the answer to pain.001.001.02) names its root `pain.002.001.02`, has no payment
  information level (`OrgnlPmtInfAndSts`): each `TxInfAndSts` names its `OrgnlPmtInfId`; its
  reasons are `StsRsnInf/StsRsn` (`Cd` a closed list, `TransactionRejectReason2Code`, the same as
  pacs.002.001.02's: a code outside it goes in `Prtry`) with `AddtlStsRsnInf`;
- .01 (2005) answers only pain.001.001.01, which has no MsgId (`GrpId`) and is refused with an
  admi.002: it is never written;
- agents: `FinInstnId/BIC` in .02 and .03, `FinInstnId/BICFI` from .04 on;
- `TxInfAndSts/OrgnlUETR` exists from .10 on;
- GrpSts, PmtInfSts and TxSts are closed code lists up to .07 and external code lists (1-4
  characters) from .08: ACSC, ACSP, PART and RJCT, all the bridge reports, exist in every one
  (pacs002 maps any other the same way);
- everything else written (GrpHdr MsgId, CreDtTm, DbtrAgt; OrgnlGrpInfAndSts OrgnlMsgId,
  OrgnlMsgNmId, OrgnlCreDtTm, GrpSts, StsRsnInf/Rsn/Cd or Prtry, AddtlInf; OrgnlPmtInfAndSts
  OrgnlPmtInfId, PmtInfSts; TxInfAndSts OrgnlInstrId, OrgnlEndToEndId) has the same name, order
  and type in .03 to .15.
"""
from __future__ import annotations

from collections.abc import Mapping

from lxml import etree

from bridge.initiations.report import InitiationStatusReport
from bridge.iso.apphdr import echoed_datetime, iso_utc_datetime
from bridge.iso.building import new_document
from bridge.iso.pacs002 import UETR_PATTERN, message_bytes, reply_app_header, status_code, write_status_reason
from bridge.status import ReplyHeader, TransactionStatus

INITIATION_REPLY_VERSIONS: dict[str, str] = {
    "pain.001.001.02": "pain.002.001.02",  # 2006
    "pain.001.001.03": "pain.002.001.03",  # 2009
    "pain.001.001.04": "pain.002.001.04",  # 2012
    "pain.001.001.05": "pain.002.001.05",  # 2013
    "pain.001.001.06": "pain.002.001.06",  # 2015
    "pain.001.001.07": "pain.002.001.07",  # 2016
    "pain.001.001.08": "pain.002.001.08",  # 2017
    "pain.001.001.09": "pain.002.001.10",  # 2019 (pain.002.001.09, 2018, has no pain.001 sibling)
    "pain.001.001.10": "pain.002.001.11",  # 2020
    "pain.001.001.11": "pain.002.001.12",  # 2021
    "pain.001.001.12": "pain.002.001.14",  # 2024 (pain.002.001.13, 2023, has no pain.001 sibling)
    "pain.001.001.13": "pain.002.001.15",  # 2026
}
"""The pain.002 that answers each pain.001 by default: the one of the same ISO release, by the
generation dates in the official XSDs' headers (pain.001.001.09 and pain.002.001.10 both "2019
Feb 14", ... .13 and pain.002.001.15 "2026 Mar 02"). Overridable like REPLY_VERSIONS
(TOKENBRIDGE_REPLY_VERSIONS: `pain.001.001.09=pain.002.001.11`)."""

SUPPORTED_VERSIONS = tuple(f"pain.002.001.{n:02d}" for n in range(2, 16))
"""pain.002 versions the bridge writes."""

OLDEST_SHAPE = "pain.002.001.02"

_CLOSED_GROUP_CODES = frozenset({"ACTC", "RCVD", "PART", "RJCT", "PDNG", "ACCP", "ACSP", "ACSC", "ACWC"})
_CLOSED_TRANSACTION_CODES = _CLOSED_GROUP_CODES - {"RCVD", "PART"}


def initiation_reply_version(input_type: str, overrides: Mapping[str, str] | None = None) -> str:
    """The pain.002 version that answers a pain.001 of `input_type`; `overrides` win. Raises
    ValueError for an input without one, or an override naming a version not written here."""
    if overrides and input_type in overrides:
        return supported_initiation_reply(overrides[input_type], f"override for {input_type}")
    try:
        return INITIATION_REPLY_VERSIONS[input_type]
    except KeyError:
        raise ValueError(f"no pain.002 reply version for {input_type!r}: known inputs are "
                         f"{', '.join(INITIATION_REPLY_VERSIONS)}") from None


def supported_initiation_reply(version: str, context: str) -> str:
    """`version` when the bridge writes it; ValueError otherwise."""
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"{context}: {version!r} is not a pain.002 version the bridge writes "
                         f"({SUPPORTED_VERSIONS[0]} to {SUPPORTED_VERSIONS[-1]})")
    return version


def write_initiation_status_report(report: InitiationStatusReport, version: str) -> etree._Element:
    """The pain.002 `Document` for `report` in `version` (pain.002.001.02 to .15)."""
    supported_initiation_reply(version, "write_initiation_status_report")
    number = int(version[-2:])
    oldest = version == OLDEST_SHAPE
    document, add = new_document(version)

    def status(parent: etree._Element, name: str, code: str, closed: frozenset[str]) -> None:
        add(parent, name, status_code(code, number, closed, "pain.002.001"))

    def reason(parent: etree._Element, code: str | None, info: str | None) -> None:
        write_status_reason(add, parent, code, info, closed_list=oldest)

    def transaction(parent: etree._Element, tx: TransactionStatus, block_id: str | None) -> None:
        element = add(parent, "TxInfAndSts")
        if oldest and block_id is not None:
            add(element, "OrgnlPmtInfId", block_id)
        for name, value in (("OrgnlInstrId", tx.original_instruction_id),
                            ("OrgnlEndToEndId", tx.original_end_to_end_id)):
            if value is not None:
                add(element, name, value)
        uetr = (tx.original_uetr or "").lower()
        if number >= 10 and UETR_PATTERN.fullmatch(uetr):
            add(element, "OrgnlUETR", uetr)
        status(element, "TxSts", tx.status, _CLOSED_TRANSACTION_CODES)
        reason(element, tx.reason, tx.additional_info)

    root = add(document, OLDEST_SHAPE if oldest else "CstmrPmtStsRpt")
    header = add(root, "GrpHdr")
    add(header, "MsgId", report.message_id)
    add(header, "CreDtTm", iso_utc_datetime(report.created_at))
    if report.debtor_agent_bic:
        institution = add(add(header, "DbtrAgt"), "FinInstnId")
        add(institution, "BIC" if number <= 3 else "BICFI", report.debtor_agent_bic)
    group = add(root, "OrgnlGrpInfAndSts")
    add(group, "OrgnlMsgId", report.original_message_id)
    add(group, "OrgnlMsgNmId", report.original_message_type)
    created = echoed_datetime(report.original_created_at_text, report.original_created_at)
    if created is not None:
        add(group, "OrgnlCreDtTm", created)
    if report.group_status is not None:
        status(group, "GrpSts", report.group_status, _CLOSED_GROUP_CODES)
    reason(group, report.group_reason, report.group_additional_info)
    for block in report.payment_informations:
        if oldest:  # no payment information level: each transaction names its block
            for tx in block.transactions:
                transaction(root, tx, block.original_payment_information_id)
            continue
        element = add(root, "OrgnlPmtInfAndSts")
        add(element, "OrgnlPmtInfId", block.original_payment_information_id or "NOTPROVIDED")
        if block.status is not None:
            status(element, "PmtInfSts", block.status, _CLOSED_GROUP_CODES)
        reason(element, block.reason, block.additional_info)
        for tx in block.transactions:
            transaction(element, tx, None)
    return document


def write_initiation_reply(report: InitiationStatusReport, version: str,
                           header: ReplyHeader | None = None,
                           header_version: str = "head.001.001.02") -> bytes:
    """The pain.002 to publish: bare, or in an `Envelope` with its AppHdr."""
    document = write_initiation_status_report(report, version)
    if header is None:
        return message_bytes(document)
    return message_bytes(document, reply_app_header(
        header, header_version, report.original_message_type, report.original_created_at,
        report.original_created_at_text))
