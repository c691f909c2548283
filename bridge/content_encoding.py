"""A message body as its transport carried it (`content_encoding`) back to the message itself.

Middleware may compress a message (AMQP `content_encoding: gzip`, as HTTP does). The bridge
reads the XML inside: the inbox digest, the reply and the audit trail are all of the decoded
bytes, so the same message is the same message however it was carried (gzip output is not
canonical: its header holds a time, an OS byte and depends on the level).

Decoding is streamed with a cap: output beyond the size limit is refused as soon as it is seen,
so a compression bomb is never inflated whole. Failures are values (`UndecodableBody`), never
exceptions: the caller dead-letters them with the reason.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from enum import StrEnum

_CHUNK = 64 * 1024
"""Compressed bytes fed to the decompressor at a time: bounds the work done past the limit."""

MAX_GZIP_MEMBERS = 16
"""RFC 1952 allows gzip members in a row (one stream); real senders write one. A cap keeps
thousands of empty members from costing a copy of the body each."""


class ContentEncoding(StrEnum):
    IDENTITY = "identity"
    GZIP = "gzip"
    DEFLATE = "deflate"  # as in HTTP: zlib-wrapped (RFC 1950); raw deflate (RFC 1951) is accepted too


_ALIASES = {"": ContentEncoding.IDENTITY, "x-gzip": ContentEncoding.GZIP}


@dataclass(frozen=True, slots=True)
class UndecodableBody:
    """Why a body cannot be decoded: an unsupported encoding, corrupt data, or too large."""

    reason: str

    def __str__(self) -> str:
        return self.reason


def content_encoding_of(value: object) -> ContentEncoding | None:
    """The supported encoding a `content_encoding` property names (absent or empty: identity),
    or None when it names none we support."""
    if value is None:
        return ContentEncoding.IDENTITY
    if not isinstance(value, str):
        return None
    name = value.strip().lower()
    if name in _ALIASES:
        return _ALIASES[name]
    try:
        return ContentEncoding(name)
    except ValueError:
        return None


def decode_content(body: bytes, content_encoding: object, max_bytes: int) -> bytes | UndecodableBody:
    """The message inside `body`, or why there is none.

    Supported: identity (or none), gzip (x-gzip; several members in a row are one stream, as
    RFC 1952 allows) and deflate. Anything else (br, zstd, compress, a list of encodings, a
    value that is not text) is refused: the bridge never guesses what bytes mean. The decoded
    body may be at most `max_bytes`; an identity body is left to the reader's own limit.
    """
    encoding = content_encoding_of(content_encoding)
    if encoding is None:
        shown = content_encoding if isinstance(content_encoding, str) else repr(content_encoding)
        return UndecodableBody(f"unsupported content_encoding {shown[:60]!r}: "
                               f"supported are {', '.join(e.value for e in ContentEncoding)}")
    if encoding is ContentEncoding.IDENTITY:
        return body
    if encoding is ContentEncoding.GZIP:
        return _inflate(body, 16 + zlib.MAX_WBITS, encoding, max_bytes, members=True)
    # zlib-wrapped deflate starts with a header whose 16-bit value is a multiple of 31.
    zlib_wrapped = len(body) >= 2 and body[0] & 0x0F == 8 and (body[0] << 8 | body[1]) % 31 == 0
    return _inflate(body, zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS, encoding, max_bytes,
                    members=False)


def _inflate(data: bytes, wbits: int, encoding: ContentEncoding, max_bytes: int,
             members: bool) -> bytes | UndecodableBody:
    out = bytearray()
    view, position = memoryview(data), 0
    try:
        for _ in range(MAX_GZIP_MEMBERS if members else 1):
            stream = zlib.decompressobj(wbits)
            while not stream.eof:
                if stream.unconsumed_tail:
                    chunk = stream.unconsumed_tail
                elif position < len(data):
                    chunk, position = view[position:position + _CHUNK], position + _CHUNK
                else:
                    return UndecodableBody(f"{encoding} body is truncated")
                # Never more than one byte past the limit: a bomb stops here.
                out += stream.decompress(chunk, max_bytes - len(out) + 1)
                if len(out) > max_bytes:
                    return UndecodableBody(f"{encoding} body decompresses to more than "
                                           f"{max_bytes} bytes (the message size limit)")
            position = min(position, len(data)) - len(stream.unused_data)
            if position >= len(data):
                return bytes(out)
    except zlib.error as error:
        return UndecodableBody(f"{encoding} body is corrupt: {error}")
    return UndecodableBody(f"{encoding} body has {len(data) - position} byte(s) after its end"
                           + (f" (more than {MAX_GZIP_MEMBERS} gzip members?)" if members else ""))
