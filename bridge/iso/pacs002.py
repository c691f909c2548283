"""Writing the pacs.002 `FIToFIPmtStsRpt` that answers a pacs.008, versions .02 to .16.

Differences between versions, checked against the official XSDs (only what a reply writes):
- .02 (2006, the answer to pacs.008.001.01) names its root `pacs.002.001.02`, writes a reason as
  `StsRsnInf/StsRsn` and `AddtlStsRsnInf`, and its reason codes are a closed list
  (`TransactionRejectReason2Code`): a code outside it goes in `StsRsn/Prtry`. Its status lists
  (`TransactionGroupStatus1Code`, `TransactionIndividualStatus1Code`) hold those of .03 to .07;
- agents: `FinInstnId/BIC` in .02 and .03, `FinInstnId/BICFI` from .04 on;
- `TxInfAndSts/OrgnlUETR` exists from .10 on (lower-case UUIDv4 pattern);
- GrpSts/TxSts are closed code lists in .03-.07 (`TransactionGroupStatus3Code`: ACTC RCVD PART
  RJCT PDNG ACCP ACSP ACSC ACWC; `TransactionIndividualStatus3Code`: the same without RCVD and
  PART) and external code lists (1-4 characters) from .08 on. ACSC, ACSP, PART and RJCT, all the
  bridge reports, exist in every version;
- everything else the reply writes (GrpHdr, OrgnlGrpInfAndSts, StsRsnInf/Rsn/Cd, AddtlInf as
  Max105Text, ISODateTime without a pattern) has the same name, order and type in all of them.
  OrgnlCreDtTm is an ISODateTime (xs:dateTime) everywhere, as is the pacs.008's CreDtTm in every
  version: the original's text is echoed as written;
- .16 (2026) differs from .15 (2025) only inside `TxInfAndSts/OrgnlTxRef`, which the reply does
  not write: `RmtInf/Strd` gains `SctiesData` before `AddtlRmtInf`, and `MndtRltdInf` must now
  hold one of its `DrctDbtMndt`/`CdtTrfMndt` choices (both were optional, so it could be empty).
  Element by element from `Document`, everything else is unchanged (type numbers aside), so .16
  is written exactly like .15.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime

from lxml import etree

from bridge.iso.apphdr import echoed_datetime, iso_utc_datetime, reply_header_xml, write_reply_header
from bridge.iso.building import ChildAdder, leaf
from bridge.iso.catalogue import ISO_NAMESPACE_PREFIX
from bridge.status import ReplyHeader, StatusReport

__all__ = ["REPLY_VERSIONS", "STATUS_REQUEST_REPLY_VERSIONS", "INSTITUTION_TRANSFER_REPLY_VERSIONS", "SUPPORTED_VERSIONS", "ENVELOPE_NAMESPACE", "reply_version",
           "parse_reply_versions", "write_status_report", "status_report_xml", "write_reply_header",
           "write_reply",
           "additional_info_text", "UETR_PATTERN", "message_bytes", "RETURN_REPLY_VERSIONS",
           "CLOSED_REASON_CODES_2006"]

REPLY_VERSIONS: dict[str, str] = {
    "pacs.008.001.01": "pacs.002.001.02",  # 2006: validated and answered, never applied
    "pacs.008.001.02": "pacs.002.001.03",  # 2009
    "pacs.008.001.03": "pacs.002.001.04",  # 2012
    "pacs.008.001.04": "pacs.002.001.05",  # 2013
    "pacs.008.001.05": "pacs.002.001.06",  # 2015
    "pacs.008.001.06": "pacs.002.001.07",  # 2016
    "pacs.008.001.07": "pacs.002.001.09",  # 2018 (pacs.002.001.08, 2017, has no pacs.008 sibling)
    "pacs.008.001.08": "pacs.002.001.10",  # 2019, the CBPR+ pair
    "pacs.008.001.09": "pacs.002.001.11",  # 2020
    "pacs.008.001.10": "pacs.002.001.12",  # 2021
    "pacs.008.001.11": "pacs.002.001.13",  # 2023
    "pacs.008.001.12": "pacs.002.001.14",  # 2024
    "pacs.008.001.13": "pacs.002.001.15",  # 2025
    "pacs.008.001.14": "pacs.002.001.16",  # 2026
}
"""The pacs.002 that answers each pacs.008 by default: the one of the same ISO release. Source:
the generation dates in the official XSDs' headers (schemas/, e.g. pacs.008.001.07 and
pacs.002.001.09 both "2018 Feb 07") and the shared components of each pair (.07/.09 share
PartyIdentification125; .08/.10 share PartyIdentification135 and the UETR)."""

STATUS_REQUEST_REPLY_VERSIONS: dict[str, str] = {
    "pacs.028.001.01": "pacs.002.001.08",  # 2017
    "pacs.028.001.02": "pacs.002.001.09",  # 2018
    "pacs.028.001.03": "pacs.002.001.10",  # 2019, the CBPR+ and FedNow pair
    "pacs.028.001.04": "pacs.002.001.11",  # 2020
    "pacs.028.001.05": "pacs.002.001.12",  # 2021
    "pacs.028.001.06": "pacs.002.001.14",  # 2024
    "pacs.028.001.07": "pacs.002.001.16",  # 2026
}
"""The pacs.002 that answers each pacs.028 status request by default: the one of the same ISO
release, by the generation dates in the official XSDs' headers (pacs.028.001.01 and
pacs.002.001.08 both "2017 Jan 27", ... .06 and pacs.002.001.14 "2024 Feb 29", .07 and
pacs.002.001.16 "2026 Mar 02"). Overridable
like REPLY_VERSIONS (TOKENBRIDGE_REPLY_VERSIONS)."""

INSTITUTION_TRANSFER_REPLY_VERSIONS: dict[str, str] = {
    "pacs.009.001.01": "pacs.002.001.02",  # 2006: validated and answered, never applied
    "pacs.009.001.02": "pacs.002.001.03",  # 2009
    "pacs.009.001.03": "pacs.002.001.04",  # 2012
    "pacs.009.001.04": "pacs.002.001.05",  # 2013
    "pacs.009.001.05": "pacs.002.001.06",  # 2015
    "pacs.009.001.06": "pacs.002.001.07",  # 2016
    "pacs.009.001.07": "pacs.002.001.09",  # 2018
    "pacs.009.001.08": "pacs.002.001.10",  # 2019, the CBPR+ pair
    "pacs.009.001.09": "pacs.002.001.11",  # 2020
    "pacs.009.001.10": "pacs.002.001.12",  # 2021
    "pacs.009.001.11": "pacs.002.001.14",  # 2024 (pacs.009 skipped the 2023 release)
    "pacs.009.001.12": "pacs.002.001.15",  # 2025
    "pacs.009.001.13": "pacs.002.001.16",  # 2026
}
"""The pacs.002 that answers each pacs.009 by default: the one of the same ISO release, by the
generation dates in the official XSDs' headers (pacs.009.001.11 and pacs.002.001.14 both "2024
Feb 29", .12 and .15 "2025 Feb 17", .13 and .16 "2026 Mar 02"; up to .10 the pacs.008 pairs').
Overridable like REPLY_VERSIONS."""

RETURN_REPLY_VERSIONS: dict[str, str] = {
    "pacs.004.001.01": "pacs.002.001.02",  # 2006: the same release's shape (closed reason list)
    "pacs.004.001.02": "pacs.002.001.03",  # 2009
    "pacs.004.001.03": "pacs.002.001.04",  # 2012
    "pacs.004.001.04": "pacs.002.001.05",  # 2013
    "pacs.004.001.05": "pacs.002.001.06",  # 2015
    "pacs.004.001.06": "pacs.002.001.07",  # 2016
    "pacs.004.001.07": "pacs.002.001.08",  # 2017
    "pacs.004.001.08": "pacs.002.001.09",  # 2018
    "pacs.004.001.09": "pacs.002.001.10",  # 2019, the CBPR+ pair
    "pacs.004.001.10": "pacs.002.001.11",  # 2020, FedNow and Fedwire
    "pacs.004.001.11": "pacs.002.001.12",  # 2021
    "pacs.004.001.12": "pacs.002.001.13",  # 2023
    "pacs.004.001.13": "pacs.002.001.14",  # 2024
    "pacs.004.001.14": "pacs.002.001.15",  # 2025
    "pacs.004.001.15": "pacs.002.001.16",  # 2026
}
"""The pacs.002 that answers each pacs.004 return by default: the one of the same ISO release,
by the generation dates in the official XSDs' headers (pacs.004.001.09 and pacs.002.001.10 both
of February 2019, ... .15 and pacs.002.001.16 "2026 Mar 02"). Overridable like REPLY_VERSIONS
(TOKENBRIDGE_REPLY_VERSIONS)."""

_ANSWERED = {**REPLY_VERSIONS, **STATUS_REQUEST_REPLY_VERSIONS, **RETURN_REPLY_VERSIONS,
             **INSTITUTION_TRANSFER_REPLY_VERSIONS}

_OLDEST_INPUTS = frozenset({"pacs.008.001.01", "pacs.004.001.01", "pacs.009.001.01"})
"""The 2006 inputs, the only ones the 2006 pacs.002 shape may answer."""

SUPPORTED_VERSIONS = tuple(f"pacs.002.001.{n:02d}" for n in range(2, 17))
"""pacs.002 versions the bridge writes."""

OLDEST_SHAPE = "pacs.002.001.02"
"""The 2006 shape (own root name, closed reason list): it answers the 2006 inputs only."""

CLOSED_REASON_CODES_2006 = frozenset({
    "AC01", "AC04", "AC06", "AM01", "AM02", "AM03", "AM04", "AM05", "AM06", "AM07", "BE01", "BE04",
    "BE05", "AG01", "AG02", "DT01", "RF01", "RC01", "TM01", "ED01", "ED03", "MS03", "MS02", "BE06",
    "BE07", "AM09", "AM10", "MD01", "MD02", "MD03", "MD04", "MD06", "MD07", "ED05", "NARR"})
"""`TransactionRejectReason2Code` of pacs.002.001.02 (and of pacs.004.001.01's return reason),
the only closed reason list."""

ENVELOPE_NAMESPACE = "urn:swift:xsd:envelope"
"""SWIFT's envelope, which carries an AppHdr and its Document side by side."""

MAX_ADDITIONAL_INFO = 105
"""`AddtlInf` is Max105Text in every version."""

_TRUNCATION_MARK = "..."
_CLOSED_GROUP_CODES = frozenset({"ACTC", "RCVD", "PART", "RJCT", "PDNG", "ACCP", "ACSP", "ACSC", "ACWC"})
_CLOSED_TRANSACTION_CODES = _CLOSED_GROUP_CODES - {"RCVD", "PART"}
# Codes added to the external lists after .07, with the closed-list code that says the same to
# the sender: settled, accepted, or still pending.
_NEAREST_CLOSED_CODE = {"ACCC": "ACSC", "ACFC": "ACCP", "ACIS": "ACCP", "ACWP": "ACCP",
                        "ACPD": "ACSP", "BLCK": "PDNG", "PATC": "PDNG", "PRES": "PDNG",
                        "CANC": "RJCT"}
# Characters XML 1.0 cannot carry at all (lxml refuses them); they become spaces.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
UETR_PATTERN = re.compile(r"[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[89ab][a-f0-9]{3}-[a-f0-9]{12}")


def reply_version(input_type: str, overrides: Mapping[str, str] | None = None) -> str:
    """The pacs.002 version that answers a pacs.008 or pacs.028 of `input_type`; `overrides` win.

    Raises ValueError for an input without a reply version, or an override naming a pacs.002
    version the bridge cannot write.
    """
    if overrides and input_type in overrides:
        return _supported_reply(overrides[input_type], f"override for {input_type}", input_type)
    try:
        return _ANSWERED[input_type]
    except KeyError:
        raise ValueError(f"no pacs.002 reply version for {input_type!r}: known inputs are "
                         f"{', '.join(_ANSWERED)}") from None


def parse_reply_versions(text: str) -> dict[str, str]:
    """Read overrides from configuration: `pacs.008.001.08=pacs.002.001.12,...` (blank: none);
    a pacs.028 or pacs.004 version may be mapped too, a camt.056 one to its camt.029
    (bridge.iso.camt029.REPLY_VERSIONS), and a pain.001 one to its pain.002.

    Raises ValueError on bad syntax, an unknown pacs.008 or pacs.002 version, or a pacs.008
    named twice.
    """
    overrides: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        source, separator, target = (side.strip() for side in item.partition("="))
        if not separator or not source or not target or "=" in target:
            raise ValueError(f"bad reply version mapping {item!r}: expected "
                             "'pacs.008.001.NN=pacs.002.001.NN'")
        if source in overrides:
            raise ValueError(f"bad reply version mapping: {source} is mapped twice")
        if source.startswith("pain.001"):  # a corporate's pain.001 -> its pain.002
            from bridge.iso.pain002 import INITIATION_REPLY_VERSIONS, supported_initiation_reply
            if source not in INITIATION_REPLY_VERSIONS:
                raise ValueError(f"bad reply version mapping {item!r}: {source!r} is not a "
                                 f"pain.001 version the bridge reads")
            overrides[source] = supported_initiation_reply(target, f"mapping {item!r}")
            continue
        if source.startswith("camt.056."):
            from bridge.iso import camt029  # it builds on this module: imported when needed
            if source not in camt029.REPLY_VERSIONS:
                raise ValueError(f"bad reply version mapping {item!r}: {source!r} is not a camt.056 "
                                 "version the bridge reads")
            overrides[source] = camt029.reply_version(source, {source: target})
            continue
        if source not in _ANSWERED:
            raise ValueError(f"bad reply version mapping {item!r}: {source!r} is not a pacs.008 "
                             f"version the bridge reads, nor a pacs.028 one ({', '.join(_ANSWERED)})")
        overrides[source] = _supported_reply(target, f"mapping {item!r}", source)
    return overrides


def write_status_report(report: StatusReport, version: str) -> etree._Element:
    """The pacs.002 `Document` for `report` in `version` (pacs.002.001.02 to .16), as an element
    tree (parsed from `status_report_xml`: for callers that look inside).

    Raises ValueError for an unsupported version or a status the version cannot express.
    """
    return etree.fromstring(status_report_xml(report, version))


def status_report_xml(report: StatusReport, version: str) -> str:
    """The pacs.002 `Document` for `report` in `version` as text, the very text lxml would
    serialise (tests/test_pacs002_text.py checks every version against the element writer it
    replaced): a reply is written once per message, on the hot path.

    Raises ValueError for an unsupported version or a status the version cannot express.
    """
    _supported_reply(version, "write_status_report")
    number = int(version[-2:])
    oldest = version == OLDEST_SHAPE
    bic = "BIC" if number <= 3 else "BICFI"
    root = OLDEST_SHAPE if oldest else "FIToFIPmtStsRpt"
    out = [f'<Document xmlns="{ISO_NAMESPACE_PREFIX}{version}"><{root}><GrpHdr>',
           leaf("MsgId", report.message_id), leaf("CreDtTm", iso_utc_datetime(report.created_at))]
    for name, agent in (("InstgAgt", report.instructing_agent_bic),
                        ("InstdAgt", report.instructed_agent_bic)):
        if agent:
            out.append(f"<{name}><FinInstnId>{leaf(bic, agent)}</FinInstnId></{name}>")
    out += ("</GrpHdr><OrgnlGrpInfAndSts>", leaf("OrgnlMsgId", report.original_message_id),
            leaf("OrgnlMsgNmId", report.original_message_type))
    original_created = echoed_datetime(report.original_created_at_text, report.original_created_at)
    if original_created is not None:
        out.append(leaf("OrgnlCreDtTm", original_created))
    if report.group_status is not None:  # a report on some of the transactions says none
        out.append(leaf("GrpSts", status_code(report.group_status, number, _CLOSED_GROUP_CODES)))
    out += (_status_reason_xml(report.group_reason, report.group_additional_info, oldest),
            "</OrgnlGrpInfAndSts>")

    for transaction in report.transactions:
        out.append("<TxInfAndSts>")
        for name, value in (("OrgnlInstrId", transaction.original_instruction_id),
                            ("OrgnlEndToEndId", transaction.original_end_to_end_id),
                            ("OrgnlTxId", transaction.original_transaction_id)):
            if value is not None:
                out.append(leaf(name, value))
        uetr = (transaction.original_uetr or "").lower()
        # OrgnlUETR exists from .10; a UETR the pattern refuses would make the whole reply invalid.
        if number >= 10 and UETR_PATTERN.fullmatch(uetr):
            out.append(leaf("OrgnlUETR", uetr))
        out += (leaf("TxSts", status_code(transaction.status, number, _CLOSED_TRANSACTION_CODES)),
                _status_reason_xml(transaction.reason, transaction.additional_info, oldest),
                "</TxInfAndSts>")
    out.append(f"</{root}></Document>")
    return "".join(out)


_XML_DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>\n"
"""What lxml writes before a message (`message_bytes`), and so the text writers too."""


def write_reply(report: StatusReport, version: str, header: ReplyHeader | None = None,
                header_version: str = "head.001.001.02") -> bytes:
    """The reply to publish, UTF-8 with an XML declaration: the bare pacs.002 Document, or with
    a header, `Envelope` (urn:swift:xsd:envelope) holding the AppHdr and then the Document."""
    document = status_report_xml(report, version)
    if header is None:
        return (_XML_DECLARATION + document).encode("utf-8")
    app_header = reply_header_xml(header, header_version, report.original_message_type,
                                  report.original_created_at, report.original_created_at_text)
    return (f'{_XML_DECLARATION}<Envelope xmlns="{ENVELOPE_NAMESPACE}">{app_header}{document}'
            "</Envelope>").encode("utf-8")


def reply_app_header(header: ReplyHeader, header_version: str, original_type: str,
                     original_created_at: datetime | None,
                     original_created_at_text: str | None) -> etree._Element:
    """The AppHdr of a status report (pacs.002, pain.002). The original AppHdr's MsgDefIdr and
    CreDt are mandatory in Rltd; the report knows the original Document's type and creation
    time, the closest values when the header did not say."""
    return etree.fromstring(reply_header_xml(header, header_version, original_type,
                                             original_created_at, original_created_at_text))


StatusReason = tuple[tuple[str, str, str] | None, tuple[str, str] | None]
"""`StsRsnInf`'s content: (choice element, `Cd` or `Prtry`, code) and (text element, text)."""


def status_reason(code: str | None, info: str | None, *, closed_list: bool) -> StatusReason | None:
    """What `StsRsnInf` of a status report (pacs.002, pain.002) holds: the reason (its choice
    element, `Cd` or `Prtry`, the code) and why, in words (its element, the text); None when
    there is neither. `closed_list`: the 2006 shape (.02 of both), whose `StsRsn/Cd` is a closed
    list and whose text is `AddtlStsRsnInf`."""
    text = additional_info_text(info)
    if not code and text is None:
        return None
    reason = None
    if code:
        # ExternalStatusReason1Code is 1-4 characters; anything longer is a proprietary
        # reason, as is, in .02, any code outside its closed list.
        choice = "StsRsn" if closed_list else "Rsn"
        if len(code) <= 4 and (not closed_list or code in CLOSED_REASON_CODES_2006):
            reason = (choice, "Cd", code)
        else:
            reason = (choice, "Prtry", code[:35])
    return reason, (None if text is None else ("AddtlStsRsnInf" if closed_list else "AddtlInf", text))


def write_status_reason(add: ChildAdder, parent: etree._Element, code: str | None,
                        info: str | None, *, closed_list: bool) -> None:
    """`StsRsnInf` of a status report (pacs.002, pain.002) added to `parent` (`status_reason`)."""
    found = status_reason(code, info, closed_list=closed_list)
    if found is None:
        return
    reason, text = found
    element = add(parent, "StsRsnInf")
    if reason is not None:
        add(add(element, reason[0]), reason[1], reason[2])
    if text is not None:
        add(element, *text)


def _status_reason_xml(code: str | None, info: str | None, closed_list: bool) -> str:
    """`StsRsnInf` as text (`status_reason`); '' when there is nothing to say."""
    found = status_reason(code, info, closed_list=closed_list)
    if found is None:
        return ""
    reason, text = found
    return "".join(("<StsRsnInf>",
                    f"<{reason[0]}>{leaf(reason[1], reason[2])}</{reason[0]}>" if reason else "",
                    leaf(*text) if text else "", "</StsRsnInf>"))


def message_bytes(document: etree._Element, app_header: etree._Element | None = None) -> bytes:
    """A message to publish, UTF-8 with an XML declaration: the bare Document, or with an
    AppHdr, `Envelope` (urn:swift:xsd:envelope) holding the AppHdr and then the Document."""
    if app_header is None:
        return etree.tostring(document, xml_declaration=True, encoding="UTF-8")
    envelope = etree.Element(f"{{{ENVELOPE_NAMESPACE}}}Envelope", nsmap={None: ENVELOPE_NAMESPACE})
    envelope.append(app_header)
    envelope.append(document)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def additional_info_text(text: str | None) -> str | None:
    """`text` as one AddtlInf: one line, only XML characters, at most 105 characters (cut ones end
    in '...', never between a letter and its accent); None when nothing is left."""
    if text is None:
        return None
    cleaned = " ".join(_NOT_XML_CHAR.sub(" ", text).split())
    if not cleaned:
        return None
    if len(cleaned) <= MAX_ADDITIONAL_INFO:
        return cleaned
    cut = MAX_ADDITIONAL_INFO - len(_TRUNCATION_MARK)
    while cut > 0 and unicodedata.combining(cleaned[cut]):
        cut -= 1
    return cleaned[:cut].rstrip() + _TRUNCATION_MARK


def _supported_reply(version: str, context: str, input_type: str | None = None) -> str:
    """`version` when the bridge writes it (as the answer to `input_type`, when given: the 2006
    shape answers only the 2006 inputs, pacs.008.001.01, pacs.004.001.01 and pacs.009.001.01);
    ValueError otherwise."""
    choosable = SUPPORTED_VERSIONS if input_type is None or input_type in _OLDEST_INPUTS else SUPPORTED_VERSIONS[1:]
    if version not in choosable:
        answering = f" in answer to {input_type}" if input_type else ""
        raise ValueError(f"{context}: {version!r} is not a pacs.002 version the bridge writes"
                         f"{answering} ({choosable[0]} to {choosable[-1]})")
    return version


def status_code(code: str, number: int, closed_codes: frozenset[str],
                family: str = "pacs.002.001") -> str:
    """`code` as version `number` of a status report (pacs.002, pain.002) can say it: any 1-4
    characters from .08, the closed list before."""
    if not 1 <= len(code) <= 4:
        raise ValueError(f"status {code!r} is not a 1-4 character ISO status code")
    if number >= 8 or code in closed_codes:
        return code
    nearest = _NEAREST_CLOSED_CODE.get(code)
    if nearest is None or nearest not in closed_codes:
        raise ValueError(f"status {code} cannot be expressed in {family}.{number:02d} "
                         f"(allowed: {', '.join(sorted(closed_codes))})")
    return nearest
