"""Which settled payment an operator's REF names (`tokenbridge return REF`):

- a UETR (`8a562c67-ca16-48ba-b074-65581be6f011`): the payment applied under `uetr:<uetr>`;
- `MSGID/E2EID`: the transaction with that EndToEndId in the pacs.008 with that MsgId (split at
  the slash after which the MsgId names a received message: either may hold slashes);
- otherwise an EndToEndId: every applied payment carrying it (a EndToEndId is unique only per
  sender, so two payments may share it: the REF is then ambiguous and the caller lists them).

Only payments that reached the ledger are candidates (a rejected one moved nothing).
"""
from __future__ import annotations

import re

from bridge.iso.reader import MessageReader
from bridge.payments.originals import Original, OriginalRefs, find_original
from bridge.ports import UnitOfWork

_UETR = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}")


def originals_named(ref: str, uow: UnitOfWork, reader: MessageReader) -> list[Original]:
    """The applied payments REF names, oldest operation first; [] when none."""
    ref = ref.strip()
    found: list[Original] = []
    if _UETR.fullmatch(ref):
        found.extend(o for o in [find_original(OriginalRefs(uetr=ref), None, uow, reader)] if o)
    for slash in (i for i, c in enumerate(ref) if c == "/"):
        message_id, end_to_end_id = ref[:slash], ref[slash + 1:]
        if message_id and end_to_end_id and uow.inbox.by_message_id(message_id):
            found.extend(o for o in [find_original(OriginalRefs(end_to_end_id=end_to_end_id), message_id,
                                                   uow, reader)] if o)
    if not found:
        for message_id in _messages_carrying(ref, uow):
            found.extend(o for o in [find_original(OriginalRefs(end_to_end_id=ref), message_id, uow, reader)]
                         if o)
    unique = {o.key: o for o in found if o.recorded is not None}
    return sorted(unique.values(), key=lambda o: o.recorded.sequence)


def _messages_carrying(end_to_end_id: str, uow: UnitOfWork) -> list[str]:
    """The MsgIds of ledger operations carrying `end_to_end_id`."""
    ids: list[str] = []
    for currency in uow.ledger.supply():
        for posting in uow.ledger.journal(currency=currency):
            if posting.refs.end_to_end_id == end_to_end_id and posting.refs.message_id:
                ids.append(posting.refs.message_id)
    return list(dict.fromkeys(ids))
