"""The fiat leg as it leaves on `tokenbridge.out`: the pacs.008.001.08 in an Envelope with its
AppHdr (head.001.001.02) from this bank (Fr: our BIC) to the creditor's agent (To: its BIC, else
its clearing-system member id), always: CBPR+ and the market infrastructures route a pacs.008
by its AppHdr, and a receiver that wants the bare Document takes the Envelope's second child."""
from __future__ import annotations

from datetime import datetime

from lxml import etree

from bridge.initiations.fiat_leg import FIAT_LEG_VERSION, FiatLeg, fiat_leg
from bridge.iso.apphdr import write_reply_header
from bridge.iso.pacs002 import message_bytes
from bridge.iso.pacs008_writer import write_fiat_leg
from bridge.iso.reader import ReadMessage
from bridge.messages import OutboundMessage, new_message_id
from bridge.payments.credit_transfer import CreditTransfer
from bridge.status import HeaderParty, ReplyHeader

FIAT_LEG_HEADER_VERSION = "head.001.001.02"


def fiat_leg_header(leg: FiatLeg, created_at: datetime) -> etree._Element:
    """The AppHdr of `leg`: from our BIC to the creditor's agent, its BizMsgIdr the MsgId."""
    agent = leg.creditor_agent
    receiver = HeaderParty(bic=agent.bic) if agent.bic else HeaderParty(member_id=agent.member_id)
    return write_reply_header(ReplyHeader(
        from_party=HeaderParty(bic=leg.issuer_bic), to_party=receiver,
        business_message_id=leg.message_id, message_definition_id=FIAT_LEG_VERSION,
        created_at=created_at, related_business_message_id=None,
        related_message_definition_id=None), FIAT_LEG_HEADER_VERSION)


def fiat_leg_message(read: ReadMessage, tx: CreditTransfer, key: str, issuer_bic: str,
                     now: datetime) -> OutboundMessage:
    """The outgoing pacs.008 paying `tx`'s creditor elsewhere (its payment's key `key`),
    settling today, correlated with the pain.001 that asked for it."""
    leg = fiat_leg(tx, key, new_message_id(), issuer_bic, now.date())
    document = etree.fromstring(write_fiat_leg(leg, now))
    correlation = (read.header.business_message_id if read.header else None) or read.message_id
    return OutboundMessage(leg.message_id, correlation, FIAT_LEG_VERSION,
                           message_bytes(document, fiat_leg_header(leg, now)))
