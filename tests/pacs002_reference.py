"""The pacs.002 reply writer as it was before it wrote text (lxml, element by element), frozen
here as the reference the text writer must equal byte for byte (tests/test_pacs002_text.py).
Copied from bridge/iso/pacs002.py and bridge/iso/apphdr.py at a1d9ebf; do not change it."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from lxml import etree

from bridge.iso.apphdr import HEADER_VERSIONS, echoed_datetime, iso_utc_datetime, writable_party
from bridge.iso.building import child, new_document
from bridge.iso.catalogue import ISO_NAMESPACE_PREFIX
from bridge.iso.pacs002 import (CLOSED_REASON_CODES_2006, ENVELOPE_NAMESPACE, OLDEST_SHAPE,
                                UETR_PATTERN, _CLOSED_GROUP_CODES, _CLOSED_TRANSACTION_CODES,
                                _supported_reply, additional_info_text, status_code)
from bridge.status import HeaderParty, ReplyHeader, StatusReport


def write_status_report(report: StatusReport, version: str) -> etree._Element:
    _supported_reply(version, "write_status_report")
    number = int(version[-2:])
    document, add = new_document(version)
    oldest = version == OLDEST_SHAPE

    def agent(parent, name, bic):
        if bic:
            institution = add(add(parent, name), "FinInstnId")
            add(institution, "BIC" if number <= 3 else "BICFI", bic)

    def status_reason(parent, code, info):
        write_status_reason(add, parent, code, info, closed_list=oldest)

    root = add(document, OLDEST_SHAPE if oldest else "FIToFIPmtStsRpt")
    header = add(root, "GrpHdr")
    add(header, "MsgId", report.message_id)
    add(header, "CreDtTm", iso_utc_datetime(report.created_at))
    agent(header, "InstgAgt", report.instructing_agent_bic)
    agent(header, "InstdAgt", report.instructed_agent_bic)

    group = add(root, "OrgnlGrpInfAndSts")
    add(group, "OrgnlMsgId", report.original_message_id)
    add(group, "OrgnlMsgNmId", report.original_message_type)
    original_created = echoed_datetime(report.original_created_at_text, report.original_created_at)
    if original_created is not None:
        add(group, "OrgnlCreDtTm", original_created)
    if report.group_status is not None:
        add(group, "GrpSts", status_code(report.group_status, number, _CLOSED_GROUP_CODES))
    status_reason(group, report.group_reason, report.group_additional_info)

    for transaction in report.transactions:
        element = add(root, "TxInfAndSts")
        for name, value in (("OrgnlInstrId", transaction.original_instruction_id),
                            ("OrgnlEndToEndId", transaction.original_end_to_end_id),
                            ("OrgnlTxId", transaction.original_transaction_id)):
            if value is not None:
                add(element, name, value)
        uetr = (transaction.original_uetr or "").lower()
        if number >= 10 and UETR_PATTERN.fullmatch(uetr):
            add(element, "OrgnlUETR", uetr)
        add(element, "TxSts", status_code(transaction.status, number, _CLOSED_TRANSACTION_CODES))
        status_reason(element, transaction.reason, transaction.additional_info)
    return document


def write_reply(report: StatusReport, version: str, header: ReplyHeader | None = None,
                header_version: str = "head.001.001.02") -> bytes:
    document = write_status_report(report, version)
    if header is None:
        return message_bytes(document)
    return message_bytes(document, reply_app_header(
        header, header_version, report.original_message_type, report.original_created_at,
        report.original_created_at_text))


def reply_app_header(header: ReplyHeader, header_version: str, original_type: str,
                     original_created_at: datetime | None,
                     original_created_at_text: str | None) -> etree._Element:
    header = replace(header, related_message_definition_id=(header.related_message_definition_id
                                                            or original_type))
    if header.related_created_at is None and header.related_created_at_text is None:
        header = replace(header, related_created_at=original_created_at,
                         related_created_at_text=original_created_at_text)
    return write_reply_header(header, header_version)


def write_status_reason(add, parent, code, info, *, closed_list):
    text = additional_info_text(info)
    if not code and text is None:
        return
    reason = add(parent, "StsRsnInf")
    if code:
        choice = add(reason, "StsRsn" if closed_list else "Rsn")
        if len(code) <= 4 and (not closed_list or code in CLOSED_REASON_CODES_2006):
            add(choice, "Cd", code)
        else:
            add(choice, "Prtry", code[:35])
    if text is not None:
        add(reason, "AddtlStsRsnInf" if closed_list else "AddtlInf", text)


def message_bytes(document, app_header=None) -> bytes:
    if app_header is None:
        return etree.tostring(document, xml_declaration=True, encoding="UTF-8")
    envelope = etree.Element(f"{{{ENVELOPE_NAMESPACE}}}Envelope", nsmap={None: ENVELOPE_NAMESPACE})
    envelope.append(app_header)
    envelope.append(document)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def write_reply_header(header: ReplyHeader, version: str = "head.001.001.02") -> etree._Element:
    if version not in HEADER_VERSIONS:
        raise ValueError(f"cannot write AppHdr {version!r}: supported are {', '.join(HEADER_VERSIONS)}")
    sender, receiver = writable_party(header.from_party, version), writable_party(header.to_party, version)
    if sender is None or receiver is None:
        raise ValueError("a reply AppHdr needs both the sender (Fr) and receiver (To) identified; "
                         f"got from={header.from_party!r} to={header.to_party!r}")
    utc_only = version == "head.001.001.01"
    namespace = ISO_NAMESPACE_PREFIX + version
    root = etree.Element(f"{{{namespace}}}AppHdr", nsmap={None: namespace})
    _add_parties_and_ids(root, namespace, sender, receiver,
                         header.business_message_id, header.message_definition_id)
    if header.business_service:
        child(root, namespace, "BizSvc", header.business_service)
    child(root, namespace, "CreDt", iso_utc_datetime(header.created_at))
    if header.related_business_message_id:
        if not header.related_message_definition_id:
            raise ValueError("Rltd needs the original's MsgDefIdr "
                             f"(original BizMsgIdr {header.related_business_message_id!r})")
        related = child(root, namespace, "Rltd")
        _add_parties_and_ids(related, namespace,
                             writable_party(header.related_from, version) or receiver,
                             writable_party(header.related_to, version) or sender,
                             header.related_business_message_id,
                             header.related_message_definition_id)
        child(related, namespace, "CreDt",
              echoed_datetime(header.related_created_at_text, header.related_created_at,
                              utc_only=utc_only) or iso_utc_datetime(header.created_at))
    return root


def _add_parties_and_ids(parent, namespace, sender, receiver, business_message_id,
                         message_definition_id) -> None:
    for name, party in (("Fr", sender), ("To", receiver)):
        if party.organisation:
            _add_organisation(child(parent, namespace, name), namespace, party)
        else:
            _add_institution(child(child(parent, namespace, name), namespace, "FIId"), namespace, party)
    child(parent, namespace, "BizMsgIdr", business_message_id)
    child(parent, namespace, "MsgDefIdr", message_definition_id)


def _add_institution(parent, namespace, party: HeaderParty) -> None:
    institution = child(parent, namespace, "FinInstnId")
    if party.bic:
        child(institution, namespace, "BICFI", party.bic)
    if party.member_id:
        member = child(institution, namespace, "ClrSysMmbId")
        _add_choice(member, namespace, "ClrSysId", party.clearing_system,
                    party.clearing_system_proprietary)
        child(member, namespace, "MmbId", party.member_id)
    if party.lei:
        child(institution, namespace, "LEI", party.lei)
    if party.name:
        child(institution, namespace, "Nm", party.name)
    _add_other(institution, namespace, party)


def _add_organisation(parent, namespace, party: HeaderParty) -> None:
    organisation = child(parent, namespace, "OrgId")
    if party.name:
        child(organisation, namespace, "Nm", party.name)
    if party.bic or party.lei or party.other_id:
        identification = child(child(organisation, namespace, "Id"), namespace, "OrgId")
        if party.bic:
            child(identification, namespace, "AnyBIC", party.bic)
        if party.lei:
            child(identification, namespace, "LEI", party.lei)
        _add_other(identification, namespace, party)


def _add_other(parent, namespace, party: HeaderParty) -> None:
    if party.other_id:
        other = child(parent, namespace, "Othr")
        child(other, namespace, "Id", party.other_id)
        _add_choice(other, namespace, "SchmeNm", party.other_scheme, party.other_scheme_proprietary)
        if party.other_issuer:
            child(other, namespace, "Issr", party.other_issuer)


def _add_choice(parent, namespace, name, code, proprietary) -> None:
    if code or proprietary:
        choice = child(parent, namespace, name)
        if code:
            child(choice, namespace, "Cd", code)
        else:
            child(choice, namespace, "Prtry", proprietary)
