"""Writing the Business Application Header (head.001 `AppHdr`) of a reply, head.001.001.01 to .04.

Checked against the official XSDs: the four versions use the same element names and order for
what a reply needs (Fr, To, BizMsgIdr, MsgDefIdr, BizSvc, CreDt, ..., Rltd). They differ in:
- CreDt: .01 is `ISONormalisedDateTime` (pattern `.*Z`, UTC only); .02 to .04 any ISODateTime;
- Fr/To `FIId/FinInstnId`: BICFI, ClrSysMmbId (ClrSysId Cd or Prtry, MmbId), Nm and Othr in
  every version, LEI from .02 on; BICFI is `BICFIIdentifier` in .01 (letters in the first six
  places), `BICFIDec2014Identifier` from .02;
- Rltd: at most one in .01, any number from .02 on. In every version Rltd's Fr, To, BizMsgIdr,
  MsgDefIdr and CreDt are mandatory;
- Fr/To `OrgId` (a corporate's channel): Nm and `Id/OrgId` with AnyBIC and Othr in every
  version, LEI from .02 on (AnyBIC is `AnyBICIdentifier` in .01, `AnyBICDec2014Identifier` after).
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timezone
from functools import lru_cache

from lxml import etree

from bridge.iso.building import leaf
from bridge.iso.catalogue import ISO_NAMESPACE_PREFIX
from bridge.iso.header import BusinessHeader
from bridge.iso.xmlnav import to_datetime
from bridge.status import HeaderParty, ReplyHeader

HEADER_VERSIONS = tuple(f"head.001.001.{n:02d}" for n in range(1, 5))
"""AppHdr versions the bridge writes."""

_BIC_01 = re.compile(r"[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?")  # BICFIIdentifier
_BIC_DEC2014 = re.compile(r"[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?")  # BICFIDec2014Identifier
_LEI = re.compile(r"[A-Z0-9]{18}[0-9]{2}")
# The lexical space of xs:dateTime (every ISODateTime), ranges included; the day of the month
# is left to datetime.fromisoformat, which checks it.
_XSD_DATETIME = re.compile(
    r"-?[0-9]{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]+)?(?P<zone>Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?")


def iso_utc_datetime(moment: datetime) -> str:
    """An ISODateTime in UTC ending in 'Z' (`2026-11-24T10:00:00Z`, milliseconds when present).

    head.001.001.01 accepts nothing else, and every other AppHdr and pacs.002 version accepts
    it, so one form serves all. A naive datetime is taken to be UTC already.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    # "milliseconds" truncates the fraction, as banks write it; none at all on a whole second
    return moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds") + "Z"


def echoed_datetime(text: str | None, moment: datetime | None, *, utc_only: bool = False) -> str | None:
    """An original's date-time as a reply repeats it (`OrgnlCreDtTm`, `Rltd/CreDt`): the very
    text the original wrote (offset-less, any offset, any fraction digits) when it is an
    ISODateTime the target accepts (`utc_only`: head.001.001.01, which wants `...Z`), else
    `moment` in UTC; None without either."""
    if text is not None:
        lexical = _XSD_DATETIME.fullmatch(text)
        if lexical and to_datetime(text) is not None and (not utc_only or lexical["zone"] == "Z"):
            return text
    return iso_utc_datetime(moment) if moment is not None else None


_MAX_LENGTHS = {"clearing_system": 5, "clearing_system_proprietary": 35, "member_id": 35,
                "name": 140, "other_id": 35, "other_scheme": 4, "other_scheme_proprietary": 35,
                "other_issuer": 35}
"""The longest text each party field's XSD type takes: ExternalClearingSystemIdentification1Code
(5), ExternalFinancialInstitutionIdentification1Code (4), Max35Text, Max140Text; the same in
every head.001 version."""


@lru_cache(maxsize=1024)  # counterparties recur: a reply's header names 4 parties, each trimmed once
def writable_party(party: HeaderParty | None, version: str) -> HeaderParty | None:
    """`party` with only what `version` can carry valid (LEI from .02; BIC by the version's
    pattern; texts within their lengths); None when nothing identifying is left. A party read
    from a valid header of the same version loses nothing."""
    if party is None:
        return None
    bic_pattern = _BIC_01 if version == "head.001.001.01" else _BIC_DEC2014
    too_long = {name: None for name, limit in _MAX_LENGTHS.items()
                if len(getattr(party, name) or "") > limit}
    kept = replace(
        party, **too_long,
        bic=party.bic if party.bic and bic_pattern.fullmatch(party.bic) else None,
        lei=party.lei if version != "head.001.001.01" and party.lei and _LEI.fullmatch(party.lei) else None)
    if kept.organisation:  # an OrgId has no clearing-system membership
        kept = replace(kept, member_id=None)
    if not kept.member_id:  # ClrSysId alone is no identification (MmbId is mandatory)
        kept = replace(kept, clearing_system=None, clearing_system_proprietary=None)
    if not kept.other_id:  # Othr/Id is mandatory in Othr
        kept = replace(kept, other_scheme=None, other_scheme_proprietary=None, other_issuer=None)
    return kept if kept.identified else None


def reply_header(original: BusinessHeader, issuer_bic: str | None, message_definition_id: str,
                 business_message_id: str, created_at: datetime) -> ReplyHeader | None:
    """The AppHdr of a reply to a message whose header is `original`: Fr is the issuer where
    configured, else whom the original was addressed to; To is the original's Fr; each named
    the way the original named it (BIC, clearing-system member id such as Fedwire's ABA number,
    LEI, ...). None (a bare Document answers) when a party has nothing the original's head.001
    version can carry."""
    sender = HeaderParty(bic=issuer_bic) if issuer_bic else original.to_party
    if writable_party(sender, original.version) is None or writable_party(
            original.from_party, original.version) is None:
        return None
    return ReplyHeader(
        from_party=sender, to_party=original.from_party,
        business_message_id=business_message_id, message_definition_id=message_definition_id,
        created_at=created_at,
        related_business_message_id=original.business_message_id,
        related_message_definition_id=original.message_definition_id,
        related_from=original.from_party, related_to=original.to_party,
        related_created_at=original.created_at, related_created_at_text=original.created_at_text,
        business_service=original.business_service)


def write_reply_header(header: ReplyHeader, version: str = "head.001.001.02") -> etree._Element:
    """The `AppHdr` of a reply: from the bridge's bank to the original sender, related (`Rltd`)
    to the original's header when its BizMsgIdr is known. Each party is named as given (BIC,
    clearing-system member id, LEI, name, other id), keeping what the version can carry.

    Raises ValueError for an unknown version, a Fr or To with nothing the version can carry, or
    a Rltd whose original MsgDefIdr is unknown (write_reply fills that in from the status report).
    """
    return etree.fromstring(reply_header_xml(header, version))


def reply_header_xml(header: ReplyHeader, version: str = "head.001.001.02",
                     original_type: str | None = None, original_created_at: datetime | None = None,
                     original_created_at_text: str | None = None) -> str:
    """`write_reply_header`'s AppHdr as text (what an Envelope embeds as it is). A status
    report knows the original Document's type and creation time: `original_*` stand in for the
    original AppHdr's MsgDefIdr and CreDt (both mandatory in Rltd) when the header lacks them."""
    if version not in HEADER_VERSIONS:
        raise ValueError(f"cannot write AppHdr {version!r}: supported are {', '.join(HEADER_VERSIONS)}")
    sender = _party_xml("Fr", header.from_party, version)
    receiver = _party_xml("To", header.to_party, version)
    if sender is None or receiver is None:
        raise ValueError("a reply AppHdr needs both the sender (Fr) and receiver (To) identified; "
                         f"got from={header.from_party!r} to={header.to_party!r}")
    created = iso_utc_datetime(header.created_at)
    out = [f'<AppHdr xmlns="{ISO_NAMESPACE_PREFIX}{version}">', sender, receiver,
           leaf("BizMsgIdr", header.business_message_id),
           leaf("MsgDefIdr", header.message_definition_id)]
    if header.business_service:
        out.append(leaf("BizSvc", header.business_service))
    out.append(leaf("CreDt", created))
    if header.related_business_message_id:
        definition = header.related_message_definition_id or original_type
        if not definition:
            raise ValueError("Rltd needs the original's MsgDefIdr "
                             f"(original BizMsgIdr {header.related_business_message_id!r})")
        related_at, related_text = header.related_created_at, header.related_created_at_text
        if related_at is None and related_text is None:
            related_at, related_text = original_created_at, original_created_at_text
        # Rltd/Fr and Rltd/To are mandatory; the original went from whom we answer to us.
        # Rltd/CreDt is mandatory too: the original's as it wrote it (in UTC where the version
        # wants it); without one, the reply's is the closest truth.
        out += ("<Rltd>",
                _party_xml("Fr", header.related_from, version) or _party_xml("Fr", header.to_party, version),
                _party_xml("To", header.related_to, version) or _party_xml("To", header.from_party, version),
                leaf("BizMsgIdr", header.related_business_message_id), leaf("MsgDefIdr", definition),
                leaf("CreDt", echoed_datetime(related_text, related_at,
                                              utc_only=version == "head.001.001.01") or created),
                "</Rltd>")
    out.append("</AppHdr>")
    return "".join(out)


@lru_cache(maxsize=1024)  # counterparties recur: each party written once per name and version
def _party_xml(name: str, party: HeaderParty | None, version: str) -> str | None:
    """`Fr` or `To` (`name`): an institution's `FIId/FinInstnId`, or an organisation's `OrgId`,
    with what `version` can carry (`writable_party`); None when nothing identifying is left."""
    party = writable_party(party, version)
    if party is None:
        return None
    if party.organisation:
        return f"<{name}>{_organisation_xml(party)}</{name}>"
    return f"<{name}><FIId>{_institution_xml(party)}</FIId></{name}>"


def _institution_xml(party: HeaderParty) -> str:
    """`FinInstnId` in the XSD's order: BICFI, ClrSysMmbId, LEI, Nm, Othr."""
    out = ["<FinInstnId>"]
    if party.bic:
        out.append(leaf("BICFI", party.bic))
    if party.member_id:
        out += ("<ClrSysMmbId>", _choice_xml("ClrSysId", party.clearing_system,
                                             party.clearing_system_proprietary),
                leaf("MmbId", party.member_id), "</ClrSysMmbId>")
    if party.lei:
        out.append(leaf("LEI", party.lei))
    if party.name:
        out.append(leaf("Nm", party.name))
    out += (_other_xml(party), "</FinInstnId>")
    return "".join(out)


def _organisation_xml(party: HeaderParty) -> str:
    """`OrgId` in the XSD's order: Nm, then `Id/OrgId` with AnyBIC, LEI, Othr (a corporate's
    channel, named as its own message named it)."""
    out = ["<OrgId>"]
    if party.name:
        out.append(leaf("Nm", party.name))
    if party.bic or party.lei or party.other_id:
        out.append("<Id><OrgId>")
        if party.bic:
            out.append(leaf("AnyBIC", party.bic))
        if party.lei:
            out.append(leaf("LEI", party.lei))
        out += (_other_xml(party), "</OrgId></Id>")
    out.append("</OrgId>")
    return "".join(out)


def _other_xml(party: HeaderParty) -> str:
    """`Othr` (Id, SchmeNm, Issr) of an institution or an organisation, when it has one."""
    if not party.other_id:
        return ""
    return "".join(("<Othr>", leaf("Id", party.other_id),
                    _choice_xml("SchmeNm", party.other_scheme, party.other_scheme_proprietary),
                    leaf("Issr", party.other_issuer) if party.other_issuer else "", "</Othr>"))


def _choice_xml(name: str, code: str | None, proprietary: str | None) -> str:
    """An ISO code-or-proprietary choice (`Cd` or `Prtry`) named `name`, when either is given."""
    if code:
        return f"<{name}>{leaf('Cd', code)}</{name}>"
    return f"<{name}>{leaf('Prtry', proprietary)}</{name}>" if proprietary else ""
