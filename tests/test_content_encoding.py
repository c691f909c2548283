"""A transport's `content_encoding` undone before the message is read: supported encodings, the
size cap (a compression bomb is refused without being inflated whole), and refusals as values."""
from __future__ import annotations

import gzip
import tracemalloc
import zlib

import pytest

from bridge.content_encoding import MAX_GZIP_MEMBERS, UndecodableBody, decode_content

MESSAGE = b'<?xml version="1.0"?><Document>' + b"<Ustrd>caf\xc3\xa9</Ustrd>" * 500 + b"</Document>"
LIMIT = 10 * 1024 * 1024


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize("encoding, body", [
    (None, MESSAGE), ("", MESSAGE), ("identity", MESSAGE), ("IDENTITY", MESSAGE),
    ("gzip", gzip.compress(MESSAGE)), (" GZip ", gzip.compress(MESSAGE, mtime=0)),
    ("x-gzip", gzip.compress(MESSAGE)),
    ("deflate", zlib.compress(MESSAGE)), ("deflate", raw_deflate(MESSAGE)),
])
def test_supported_encodings_give_back_the_message(encoding, body) -> None:
    assert decode_content(body, encoding, LIMIT) == MESSAGE


def test_gzip_members_in_a_row_are_one_stream() -> None:
    half = len(MESSAGE) // 2
    body = gzip.compress(MESSAGE[:half]) + gzip.compress(MESSAGE[half:])
    assert decode_content(body, "gzip", LIMIT) == MESSAGE
    many = b"".join(gzip.compress(b"") for _ in range(MAX_GZIP_MEMBERS + 1))
    assert "after its end" in str(decode_content(many, "gzip", LIMIT))


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress", "gzip, gzip", b"gzip", 7])
def test_an_encoding_we_do_not_support_is_refused_by_name(encoding) -> None:
    result = decode_content(gzip.compress(MESSAGE), encoding, LIMIT)
    assert isinstance(result, UndecodableBody)
    assert "unsupported content_encoding" in result.reason and "gzip" in result.reason


@pytest.mark.parametrize("encoding, body, says", [
    ("gzip", MESSAGE, "corrupt"),                                  # not compressed at all
    ("gzip", gzip.compress(MESSAGE)[:-12], "truncated"),           # cut short
    ("gzip", gzip.compress(MESSAGE) + b"trailing junk", "corrupt"),  # not a second member
    ("gzip", b"", "truncated"),
    ("deflate", b"\x78\x9c" + b"\xff" * 40, "corrupt"),
    ("deflate", zlib.compress(MESSAGE) + b"more", "after its end"),
])
def test_damaged_bodies_are_refused_saying_why(encoding, body, says) -> None:
    result = decode_content(body, encoding, LIMIT)
    assert isinstance(result, UndecodableBody) and says in result.reason, result


def test_the_limit_holds_for_the_decoded_size() -> None:
    body = gzip.compress(MESSAGE)
    assert decode_content(body, "gzip", len(MESSAGE)) == MESSAGE
    refused = decode_content(body, "gzip", len(MESSAGE) - 1)
    assert isinstance(refused, UndecodableBody) and f"more than {len(MESSAGE) - 1} bytes" in refused.reason


@pytest.mark.slow  # compresses 1 GiB to build the bomb
@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compression_bomb_is_refused_without_inflating_it(encoding) -> None:
    """1 GiB of zeros packs into about 1 MB: refused at the 10 MiB limit, the memory used stays
    near the limit, never near the gigabyte."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    bomb = b"".join(packer.compress(block) for _ in range(1024)) + packer.flush()
    assert len(bomb) < 2 * 1024 * 1024
    tracemalloc.start()
    try:
        result = decode_content(bomb, encoding, LIMIT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(result, UndecodableBody) and "more than 10485760 bytes" in result.reason
    assert peak < 4 * LIMIT
