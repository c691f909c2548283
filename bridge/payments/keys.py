"""Idempotency keys: the one key each payment is applied under, whichever road brings it.

A pacs.008 transaction's key is `uetr:<uetr>` where it has a UETR, else a stable hash of its
references (`transaction_keys`). A statement entry naming a UETR mints under the very same key
(`uetr_key`, bridge.reconciliation.statement_mints): one payment, one mint.
"""
from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence

from bridge.payments.credit_transfer import CreditTransfer, CreditTransferMessage, GroupHeader

UETR_KEY_PREFIX = "uetr:"


def uetr_key(uetr: str) -> str:
    """The key of a payment with a UETR: the same for a pacs.008 and a statement entry."""
    return f"{UETR_KEY_PREFIX}{uetr.lower()}"


def _sender(tx: CreditTransfer, header: GroupHeader) -> str:
    agent = tx.instructing_agent or header.instructing_agent
    return (agent.bic or agent.member_id or "") if agent else ""


def _digest(fields: Sequence[str]) -> str:
    return "sha256:" + hashlib.sha256("\x1f".join(fields).encode("utf-8")).hexdigest()


def transaction_keys(message: CreditTransferMessage, sender: str | None = None) -> list[str]:
    """The idempotency key of each transaction of a message, in order: the UETR where present,
    else a stable hash of instructing agent, MsgId, EndToEndId and TxId.

    Where that hash does not tell transactions of the message apart (EndToEndId NOTPROVIDED and
    no TxId, from pacs.008.001.08), the first keeps it (so a message applied before this rule
    keeps its key) and each later one hashes in its InstrId where that is unique among them,
    else its position too. Two transactions of a message never share a key, except two with the
    same UETR, which rule tx.unique-ids refuses; the same message resent maps to the same keys.
    `sender` stands for the instructing agent where another party instructs (a corporate's
    channel, bridge.initiations), so that two senders' ids never give one key.
    """
    header = message.group_header
    keys: list[str] = []
    material: list[tuple[str, ...]] = []
    for tx in message.transactions:
        fields = (_sender(tx, header) if sender is None else sender, header.message_id,
                  tx.end_to_end_id, tx.transaction_id or "")
        material.append(fields)
        keys.append(uetr_key(tx.uetr) if tx.uetr else _digest(fields))
    sharing: dict[str, list[int]] = defaultdict(list)
    for position, key in enumerate(keys):
        if not key.startswith(UETR_KEY_PREFIX):
            sharing[key].append(position)
    for positions in sharing.values():
        later = positions[1:]
        instructions = Counter(message.transactions[p].instruction_id for p in positions)
        for position in later:
            instruction = message.transactions[position].instruction_id
            extra = [f"InstrId:{instruction or ''}"]
            if not instruction or instructions[instruction] > 1:
                extra.append(f"position:{position}")
            keys[position] = _digest(material[position] + tuple(extra))
    return keys
