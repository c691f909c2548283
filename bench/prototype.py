"""The two reference prototypes of issue 19, for ratios measured in the same run as the worker
(bench/throughput.py). Each consumes single-transaction pacs.008.001.08 mints (bare Documents or
in a SWIFT envelope with a head.001.001.02 AppHdr) from the inbound queue, credits the wallet in
its own SQLite file (inbox row, balance, supply, outbox row) and answers a pacs.002 ACSC on the
outbound exchange, correlated by MsgId as the worker's replies are. No business rules, no
registry, no audit trail: the bare floor of the same path, not a product.

- bare:  lxml parse + XSD validation (lxml.etree.XMLSchema), one SQLite commit per batch of up
         to 100 deliveries, the batch's replies published then their confirms awaited together
         (a window), one ack for the whole batch.
- naive: prefetch 1, xmlschema validation (pure Python), one commit, one blocking confirmed
         publish and one ack per message.

    TOKENBRIDGE_AMQP_PREFIX=... python bench/prototype.py {bare|naive} DB_FILE   (until SIGTERM)
"""
from __future__ import annotations

import signal
import sqlite3
import sys
import threading
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pika  # noqa: E402
from lxml import etree  # noqa: E402

from adapters.rabbitmq.channel import PERSISTENT, confirmed_channel, connect  # noqa: E402
from adapters.rabbitmq.publisher import ConfirmedPublisher  # noqa: E402
from adapters.rabbitmq.topology import Names  # noqa: E402

SCHEMAS = ROOT / "schemas"
PACS008 = "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"
HEAD = "urn:iso:std:iso:20022:tech:xsd:head.001.001.02"
ENVELOPE = "{urn:swift:xsd:envelope}Envelope"
NS = {"p": PACS008}
BATCH = 100
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def open_db(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript("""
        CREATE TABLE IF NOT EXISTS inbox (msg_id TEXT PRIMARY KEY);
        CREATE TABLE IF NOT EXISTS balances (account TEXT PRIMARY KEY, minor INTEGER NOT NULL CHECK (minor >= 0));
        CREATE TABLE IF NOT EXISTS supply (currency TEXT PRIMARY KEY, minor INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, body BLOB NOT NULL, published INTEGER NOT NULL);
    """)
    return db


def parts(root: etree._Element) -> tuple[etree._Element, etree._Element | None]:
    """(Document, AppHdr or None) of a bare Document or a SWIFT envelope."""
    if root.tag != ENVELOPE:
        return root, None
    document = header = None
    for child in root:
        if child.tag == f"{{{PACS008}}}Document":
            document = child
        elif child.tag == f"{{{HEAD}}}AppHdr":
            header = child
    if document is None or header is None:
        raise ValueError("envelope without Document or AppHdr")
    return document, header


def mint_of(document: etree._Element) -> tuple[str, str, str, int]:
    """(MsgId, EndToEndId, creditor IBAN, amount in cents) of a single-transaction mint."""
    tx = document.find("p:FIToFICstmrCdtTrf/p:CdtTrfTxInf", NS)
    amount = tx.find("p:IntrBkSttlmAmt", NS).text
    units, _, cents = amount.partition(".")
    return (document.findtext("p:FIToFICstmrCdtTrf/p:GrpHdr/p:MsgId", namespaces=NS),
            tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS),
            tx.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS), int(units) * 100 + int((cents + "00")[:2]))


def pacs002(msg_id: str, end_to_end: str, status: str) -> bytes:
    """The reply, written as text (no second tree walk)."""
    return (f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10">'
            f"<FIToFIPmtStsRpt><GrpHdr><MsgId>{uuid.uuid4().hex[:32]}</MsgId><CreDtTm>2026-12-01T00:00:00Z</CreDtTm></GrpHdr>"
            f"<OrgnlGrpInfAndSts><OrgnlMsgId>{msg_id}</OrgnlMsgId><OrgnlMsgNmId>pacs.008.001.08</OrgnlMsgNmId></OrgnlGrpInfAndSts>"
            f"<TxInfAndSts><OrgnlEndToEndId>{end_to_end}</OrgnlEndToEndId><TxSts>{status}</TxSts></TxInfAndSts>"
            "</FIToFIPmtStsRpt></Document>").encode()


def apply(db: sqlite3.Connection, msg_id: str, account: str, minor: int) -> bool:
    """Credit once: False if this MsgId was applied before (the inbox row exists)."""
    if db.execute("INSERT OR IGNORE INTO inbox VALUES (?)", (msg_id,)).rowcount == 0:
        return False
    db.execute("INSERT INTO balances VALUES (?, ?) ON CONFLICT(account) DO UPDATE SET minor = minor + excluded.minor",
               (account, minor))
    db.execute("INSERT INTO supply VALUES ('EUR', ?) ON CONFLICT(currency) DO UPDATE SET minor = minor + excluded.minor",
               (minor,))
    return True


def handle(db: sqlite3.Connection, body: bytes, validate) -> tuple[str, bytes]:
    """(MsgId, reply) of one delivery, its effects written in the open transaction."""
    root = etree.fromstring(body, PARSER)
    document, header = parts(root)
    validate(document, header)
    msg_id, end_to_end, account, minor = mint_of(document)
    status = "ACSC" if apply(db, msg_id, account, minor) else "RJCT"
    reply = pacs002(msg_id, end_to_end, status)
    db.execute("INSERT INTO outbox VALUES (?, ?, 0)", (f"{msg_id}:pacs.002", reply))
    return msg_id, reply


def properties(msg_id: str) -> pika.BasicProperties:
    return pika.BasicProperties(message_id=f"{msg_id}:pacs.002", correlation_id=msg_id,
                                type="pacs.002.001.10", delivery_mode=PERSISTENT)


def bare(db: sqlite3.Connection, names: Names, url: str, stop: threading.Event) -> None:
    document_xsd = etree.XMLSchema(etree.parse(str(SCHEMAS / "pacs.008.001.08.xsd")))
    header_xsd = etree.XMLSchema(etree.parse(str(SCHEMAS / "head.001.001.02.xsd")))

    def validate(document, header) -> None:
        document_xsd.assertValid(document)
        if header is not None:
            header_xsd.assertValid(header)
    connection = connect(url)
    channel = connection.channel()
    channel.basic_qos(prefetch_count=2 * BATCH)
    publisher = ConfirmedPublisher(connection)
    pending: list[tuple[int, bytes]] = []
    channel.basic_consume(names.inbound, lambda _ch, method, _p, body: pending.append((method.delivery_tag, body)))
    while not stop.is_set():
        connection.process_data_events(time_limit=0 if len(pending) >= BATCH else 0.001)
        if not pending or (len(pending) < BATCH and _more_coming(connection, pending)):
            continue
        batch, pending[:] = pending[:BATCH], pending[BATCH:]
        db.execute("BEGIN IMMEDIATE")
        replies = [handle(db, body, validate) for _, body in batch]
        db.execute("COMMIT")
        for msg_id, reply in replies:
            publisher.publish(names.outbound, "pacs.002.001.10", reply, properties(msg_id))
        publisher.wait()  # the window: every reply of the batch confirmed
        db.executemany("UPDATE outbox SET published = 1 WHERE id = ?", [(f"{m}:pacs.002",) for m, _ in replies])
        channel.basic_ack(batch[-1][0], multiple=True)  # one ack for the batch
    connection.close()


def _more_coming(connection: pika.BlockingConnection, pending: list) -> bool:
    """True if the socket still delivers (the batch grows while it does)."""
    before = len(pending)
    connection.process_data_events(time_limit=0)
    return len(pending) > before


def naive(db: sqlite3.Connection, names: Names, url: str, stop: threading.Event) -> None:
    import xmlschema

    from naive import one_at_a_time  # the same consume loop as the bridge's naive pipeline
    document_xsd = xmlschema.XMLSchema(str(SCHEMAS / "pacs.008.001.08.xsd"))
    header_xsd = xmlschema.XMLSchema(str(SCHEMAS / "head.001.001.02.xsd"))

    def validate(document, header) -> None:
        document_xsd.validate(etree.tostring(document).decode())
        if header is not None:
            header_xsd.validate(etree.tostring(header).decode())
    connection = connect(url)
    channel = confirmed_channel(connection)
    for method, body in one_at_a_time(channel, names.inbound, stop):
        db.execute("BEGIN IMMEDIATE")
        msg_id, reply = handle(db, body, validate)
        db.execute("COMMIT")
        channel.basic_publish(names.outbound, "pacs.002.001.10", reply, properties(msg_id), mandatory=True)
        db.execute("UPDATE outbox SET published = 1 WHERE id = ?", (f"{msg_id}:pacs.002",))
        channel.basic_ack(method.delivery_tag)
    connection.close()


def main() -> None:
    import os
    mode, path = sys.argv[1], sys.argv[2]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    names = Names(os.environ["TOKENBRIDGE_AMQP_PREFIX"])
    url = os.environ.get("TOKENBRIDGE_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    {"bare": bare, "naive": naive}[mode](open_db(path), names, url, stop)


if __name__ == "__main__":
    main()
