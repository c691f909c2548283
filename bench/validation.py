"""Validation throughput of one single-transaction pacs.008.001.08 on one core, in one run:
the bridge's reader (parse, unwrap, XSD, domain objects, business rules), its XSD step alone,
raw lxml parse + XMLSchema validate (the ceiling), and xmlschema (pure Python).
Also the time to refuse each hostile input.

    .venv/bin/python bench/validation.py [--seconds 2] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from lxml import etree
import xmlschema

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from bridge.iso.catalogue import SchemaCatalogue  # noqa: E402
from bridge.iso.envelope import unwrap  # noqa: E402
from bridge.iso.reader import MessageReader  # noqa: E402
from bridge.iso.safe_xml import parse_untrusted  # noqa: E402
from builders import Tx, pacs008  # noqa: E402
from test_hostile_xml import BILLION_LAUGHS, QUADRATIC, XXE_FILE  # noqa: E402

NS = "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"


def rate(fn, data: bytes, seconds: float) -> float:
    """Messages per second: the median of 5 timed rounds after a warm-up."""
    step = max(1, min(50, 200_000 // len(data)))  # big messages: fewer per step
    for _ in range(step):
        fn(data)
    rounds = []
    for _ in range(5):
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 5:
            for _ in range(step):
                fn(data)
            n += step
        rounds.append(n / (time.perf_counter() - start))
    return statistics.median(rounds)


def message_of(transactions: int) -> bytes:
    """A pacs.008.001.08 with `transactions` distinct credit transfers (valid IBANs)."""
    return pacs008([Tx(amount=f"{1 + i % 900}.25") for i in range(transactions)]).encode()


def validation_rates(message: bytes, seconds: float, *, with_xmlschema: bool = True) -> dict[str, float]:
    """Messages/s on the calling core: the bridge's reader and XSD step, raw lxml, xmlschema."""
    catalogue = SchemaCatalogue()
    reader = MessageReader(catalogue, max_bytes=max(len(message) + 1, 10 << 20))
    schema = catalogue.schema(NS)
    raw_parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    assert reader.read(message).valid

    def bridge_xsd_only(data: bytes) -> bool:
        return schema.validate(unwrap(parse_untrusted(data)).document)

    cases = {
        "bridge reader (XSD + domain + rules)": lambda d: reader.read(d),
        "bridge XSD step (safe parse + unwrap + XSD)": bridge_xsd_only,
        "raw lxml parse + XMLSchema.validate": lambda d: schema.validate(etree.fromstring(d, raw_parser)),
    }
    if with_xmlschema:
        pyschema = xmlschema.XMLSchema(str(catalogue.directory / "pacs.008.001.08.xsd"))
        assert pyschema.is_valid(message.decode())
        cases["xmlschema.is_valid"] = lambda d: pyschema.is_valid(d.decode())
    return {name: rate(fn, message, seconds) for name, fn in cases.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core

    message = pacs008([Tx(amount="1250.00")]).encode()
    reader = MessageReader()
    results = validation_rates(message, args.seconds)
    hostile = {}
    for name, data in {"billion laughs": BILLION_LAUGHS, "quadratic blow-up": QUADRATIC,
                       "XXE": XXE_FILE, "100,000 nested": b"<a>" * 100_000 + b"</a>" * 100_000,
                       "60 MiB": b"<a>" + b" " * (60 << 20) + b"</a>",
                       "truncated": message[:-30], "invalid UTF-8": b"<a>\xff\xfe</a>"}.items():
        start = time.perf_counter()
        finding = reader.read(data).findings[0].rule
        hostile[name] = (finding, (time.perf_counter() - start) * 1000)
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, lxml {etree.__version__}, libxml2 {'.'.join(map(str, etree.LIBXML_VERSION))}, xmlschema {xmlschema.__version__}"
    if args.json:
        print(json.dumps({"machine": machine, "messages_per_second": results,
                          "hostile_ms": {k: v[1] for k, v in hostile.items()}}, indent=2))
        return
    print(f"single-transaction pacs.008.001.08 ({len(message)} bytes), one core; {machine}")
    ceiling = results["raw lxml parse + XMLSchema.validate"]
    for name, value in results.items():
        print(f"  {name:<46} {value:>9,.0f} msg/s  ({ceiling / value:4.2f}x the ceiling's time)")
    print("hostile input refused:")
    for name, (rule, ms) in hostile.items():
        print(f"  {name:<20} {rule:<16} {ms:8.2f} ms")


if __name__ == "__main__":
    main()
