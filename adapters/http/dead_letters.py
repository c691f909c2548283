"""Dead letters: list, show (the reason and the message), re-drive (operators; audited)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException

from adapters.http.access import operator, viewer
from adapters.http.context import ConsoleContext, context
from adapters.http.operator_actions import record
from adapters.rabbitmq.channel import CONNECTION_ERRORS, redacted_url
from adapters.rabbitmq.dead_letters import DeadLetter
from adapters.rabbitmq.worker import describe_value
from adapters.sql.api_tokens import ApiToken
from bridge.content_encoding import UndecodableBody, decode_content
from bridge.iso.safe_xml import DEFAULT_MAX_BYTES

router = APIRouter(prefix="/api/dead-letters", tags=["dead letters"], dependencies=[Depends(viewer)])

SHOWN_BYTES = 65_536
"""The message shown in a dead letter's page; `tokenbridge dead show` prints the first 2000."""
T = TypeVar("T")


def on_broker(console: ConsoleContext, call: Callable[[], T]) -> T:
    """Run a broker call; an unreachable broker is a 503 naming it (without its password)."""
    try:
        return call()
    except CONNECTION_ERRORS as error:
        raise HTTPException(503, f"broker {redacted_url(console.broker.url)} unreachable: "
                                 f"{type(error).__name__}") from None


def _summary(letter: DeadLetter) -> dict[str, Any]:
    return {"id": letter.id, "reason": letter.reason, "message_id": letter.properties.message_id,
            "type": letter.properties.type, "bytes": len(letter.body),
            "redriven_before": bool(letter.headers.get("x-tokenbridge-redriven"))}


@router.get("")
def dead_letters(console: ConsoleContext = Depends(context)) -> dict[str, Any]:
    letters = on_broker(console, console.broker.dead_letters)
    return {"queue": console.broker.names.dead, "letters": [_summary(letter) for letter in letters]}


@router.get("/{letter_id}")
def dead_letter(letter_id: str, console: ConsoleContext = Depends(context)) -> dict[str, Any]:
    letter = on_broker(console, lambda: console.broker.dead_letter(letter_id))
    if letter is None:
        raise HTTPException(404, f"no dead letter {letter_id}")
    message = decode_content(letter.body, letter.properties.content_encoding, DEFAULT_MAX_BYTES)
    body = letter.body if isinstance(message, UndecodableBody) else message
    return {**_summary(letter),
            "content_encoding": letter.properties.content_encoding,
            "headers": {k: describe_value(v)[:1000] for k, v in letter.headers.items()},
            "body": body[:SHOWN_BYTES].decode("utf-8", errors="replace"),
            "body_truncated": len(body) > SHOWN_BYTES}


@router.post("/{letter_id}/redrive")
def redrive(letter_id: str, token: ApiToken = Depends(operator),
            console: ConsoleContext = Depends(context)) -> dict[str, Any]:
    """Publish the dead letter back to the inbound queue, keeping its identity (it can never
    apply twice); recorded in the audit trail with the token's name."""
    done = on_broker(console, lambda: console.broker.redrive([letter_id]))
    outcome = "done" if done else "not_found"
    record(console, token, "redrive", letter_id, outcome,
           f"re-drove {' '.join(done)}" if done else "no such dead letter: nothing re-driven")
    if not done:
        raise HTTPException(404, f"no dead letter {letter_id}: nothing re-driven")
    return {"redriven": done}
