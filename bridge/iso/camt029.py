"""Writing the camt.029 `RsltnOfInvstgtn` that answers a camt.056, versions .03 to .14.

Differences between versions, checked against the official XSDs (only what is written here):
- .01 (2005) has no `CxlDtls` at all (a whole-case `RjctdCxl` only): not written; .03 answers
  the camt.056 versions of 2009 and 2012 (there is no camt.029.001.02 here);
- `Assgnmt` (Id, Assgnr, Assgne, CreDtTm), `RslvdCase` (Id, Cretr), `Sts/Conf`, and
  `CxlDtls` with `OrgnlGrpInfAndSts` (OrgnlMsgId, OrgnlMsgNmId, OrgnlCreDtTm) and
  `TxInfAndSts` (OrgnlGrpInf, OrgnlInstrId, OrgnlEndToEndId, OrgnlTxId, TxCxlSts,
  CxlStsRsnInf) have the same names and order in .03 to .14;
- agents are `FinInstnId/BIC` in .03 and `FinInstnId/BICFI` from .04;
- `TxInfAndSts/OrgnlUETR` exists from .09 on;
- `Sts/Conf` is a closed list to .07 (InvestigationExecutionConfirmation3Code, which holds
  CNCL, PDCR, RJCR and PECR) and external from .08; `TxCxlSts` is CancellationIndividualStatus1Code
  (RJCR, ACCR, PDCR) in all;
- `CxlStsRsnInf/Rsn/Cd` is closed in .03 (LEGL, AGNT, CUST) and .04-.07 (also ARDT, NOAS, NOOR,
  AC04, AM04), external from .08: a code a version's list lacks is written as `Prtry`.
"""
from __future__ import annotations

from collections.abc import Mapping

from lxml import etree

from bridge.cancellations.resolution import Resolution
from bridge.iso.apphdr import echoed_datetime, iso_utc_datetime, write_reply_header
from bridge.iso.building import new_document
from bridge.iso.pacs002 import UETR_PATTERN, additional_info_text, message_bytes
from bridge.parties import Agent
from bridge.status import ReplyHeader

REPLY_VERSIONS: dict[str, str] = {
    "camt.056.001.01": "camt.029.001.03",  # 2009 (both "2009 Apr 02")
    "camt.056.001.02": "camt.029.001.03",  # 2012: no camt.029 of that release here
    "camt.056.001.03": "camt.029.001.04",  # 2013
    "camt.056.001.04": "camt.029.001.05",  # 2015
    "camt.056.001.05": "camt.029.001.06",  # 2016
    "camt.056.001.06": "camt.029.001.07",  # 2017
    "camt.056.001.07": "camt.029.001.08",  # 2018
    "camt.056.001.08": "camt.029.001.09",  # 2019, the CBPR+ pair
    "camt.056.001.09": "camt.029.001.10",  # 2020
    "camt.056.001.10": "camt.029.001.11",  # 2021
    "camt.056.001.11": "camt.029.001.13",  # 2024 (camt.029.001.12, 2023, has no camt.056 sibling)
    "camt.056.001.12": "camt.029.001.14",  # 2026
}
"""The camt.029 that answers each camt.056 by default: the one of the same ISO release, by the
generation dates in the official XSDs' headers (camt.056.001.08 and camt.029.001.09 both "2019
Feb 14"). Overridable with TOKENBRIDGE_REPLY_VERSIONS (`camt.056.001.08=camt.029.001.10`)."""

SUPPORTED_VERSIONS = tuple(f"camt.029.001.{n:02d}" for n in range(3, 15))
"""camt.029 versions the bridge writes."""

_CLOSED_REASONS = {3: frozenset({"LEGL", "AGNT", "CUST"}),
                   **{n: frozenset({"LEGL", "AGNT", "CUST", "ARDT", "NOAS", "NOOR", "AC04", "AM04"})
                      for n in range(4, 8)}}
"""The closed PaymentCancellationRejection lists of .03 (1Code) and .04-.07 (2Code)."""


def reply_version(input_type: str, overrides: Mapping[str, str] | None = None) -> str:
    """The camt.029 version that answers a camt.056 of `input_type`; `overrides` win.

    Raises ValueError for an input without one, or an override the bridge cannot write."""
    if overrides and input_type in overrides:
        chosen = overrides[input_type]
        if chosen not in SUPPORTED_VERSIONS:
            raise ValueError(f"override for {input_type}: {chosen!r} is not a camt.029 version the "
                             f"bridge writes ({SUPPORTED_VERSIONS[0]} to {SUPPORTED_VERSIONS[-1]})")
        return chosen
    try:
        return REPLY_VERSIONS[input_type]
    except KeyError:
        raise ValueError(f"no camt.029 reply version for {input_type!r}") from None


def write_resolution(resolution: Resolution, version: str) -> etree._Element:
    """The camt.029 `Document` for `resolution` in `version` (camt.029.001.03 to .14).

    Raises ValueError for a version the bridge does not write."""
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"cannot write {version!r}: supported are {SUPPORTED_VERSIONS[0]} to "
                         f"{SUPPORTED_VERSIONS[-1]}")
    number = int(version[-2:])
    document, add = new_document(version)

    def agent(parent: etree._Element, name: str, who: Agent | None) -> None:
        institution = add(add(add(parent, name), "Agt"), "FinInstnId")
        if who is not None and who.bic:
            add(institution, "BIC" if number <= 3 else "BICFI", who.bic)
        elif who is not None and who.member_id:
            add(add(institution, "ClrSysMmbId"), "MmbId", who.member_id)

    root = add(document, "RsltnOfInvstgtn")
    assignment = add(root, "Assgnmt")
    add(assignment, "Id", resolution.message_id)
    agent(assignment, "Assgnr", Agent(bic=resolution.assigner_bic))
    agent(assignment, "Assgne", resolution.assignee)
    add(assignment, "CreDtTm", iso_utc_datetime(resolution.created_at))
    creator = resolution.case_creator
    if resolution.case_id and creator is not None and (creator.bic or creator.member_id):
        case = add(root, "RslvdCase")
        add(case, "Id", resolution.case_id)
        agent(case, "Cretr", creator)
    add(add(root, "Sts"), "Conf", resolution.confirmation)
    details = add(root, "CxlDtls")
    group = add(details, "OrgnlGrpInfAndSts")
    add(group, "OrgnlMsgId", resolution.request_id)
    add(group, "OrgnlMsgNmId", resolution.request_type)
    created = echoed_datetime(resolution.request_created_at_text, None)
    if created is not None:
        add(group, "OrgnlCreDtTm", created)
    for tx in resolution.transactions:
        element = add(details, "TxInfAndSts")
        if tx.original_group is not None:
            original = add(element, "OrgnlGrpInf")
            add(original, "OrgnlMsgId", tx.original_group.message_id)
            add(original, "OrgnlMsgNmId", tx.original_group.message_type or "pacs.008")
            created = echoed_datetime(tx.original_group.created_at_text, tx.original_group.created_at)
            if created is not None:
                add(original, "OrgnlCreDtTm", created)
        for name, value in (("OrgnlInstrId", tx.instruction_id), ("OrgnlEndToEndId", tx.end_to_end_id),
                            ("OrgnlTxId", tx.transaction_id)):
            if value:
                add(element, name, value)
        # OrgnlUETR exists from .09; a UETR the pattern refuses would make the whole reply invalid.
        if number >= 9 and tx.uetr and UETR_PATTERN.fullmatch(tx.uetr.lower()):
            add(element, "OrgnlUETR", tx.uetr.lower())
        add(element, "TxCxlSts", tx.status)
        info = additional_info_text(tx.info)
        if tx.reason or info:
            reason = add(element, "CxlStsRsnInf")
            if tx.reason:
                closed = _CLOSED_REASONS.get(number)
                choice = add(reason, "Rsn")
                if closed is None or tx.reason in closed:
                    add(choice, "Cd", tx.reason)
                else:
                    add(choice, "Prtry", tx.reason)
            if info:
                add(reason, "AddtlInf", info)
    return document


def write_resolution_reply(resolution: Resolution, version: str, header: ReplyHeader | None = None,
                           header_version: str = "head.001.001.02") -> bytes:
    """The camt.029 to publish, UTF-8 with an XML declaration: the bare Document, or with a
    header, `Envelope` holding the AppHdr (related to the request's) and then the Document."""
    document = write_resolution(resolution, version)
    return message_bytes(document, write_reply_header(header, header_version) if header else None)
