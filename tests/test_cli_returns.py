"""`tokenbridge return REF`: a settled payment returned by the operator, its pacs.004 queued in
the outbox and written to --out, the return recorded in the audit trail; the refusals and exit
codes; `tokenbridge status` and a pacs.028 showing the returns; the whole story through
`tokenbridge replay` with samples/pacs004."""
from __future__ import annotations

import json
from pathlib import Path

from bridge.iso.reader import MessageReader
from bridge.returns.return_message import PaymentReturnMessage

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
MINT = SAMPLES / "pacs008" / "01-mint-fatima-to-alice-eur.xml"
MINT_MSG, MINT_E2E, MINT_UETR = ("BNPA20261124-0917-004417", "OUALI-LOYER-2026-11",
                                 "e9b0e81b-975e-4591-bb9f-15fccadfc99f")


def _replayed(seeded_cli):
    assert seeded_cli("replay", str(MINT)).exit_code == 0
    return seeded_cli


def _json(result) -> dict:
    return json.loads(result.output)


def test_a_partial_then_the_rest_returned_by_the_operator(seeded_cli, tmp_path: Path) -> None:
    cli = _replayed(seeded_cli)
    out = tmp_path / "return.xml"
    first = cli("return", MINT_UETR, "--reason", "md06", "--amount", "250.00", "--out", str(out), "--json")
    assert first.exit_code == 0, first.output
    said = _json(first)
    assert (said["returned"], said["status"], said["amount"], said["returned_total"], said["fully_returned"]) == (
        True, "ACSC", "250.00", "250.00", False)
    assert said["operation"]["kind"] == "burn" and said["operation"]["debit_wallet"] == "w-alice"
    assert said["message"]["message_type"] == "pacs.004.001.09"  # the sample is a pacs.008.001.08
    read = MessageReader().read(out.read_bytes())
    assert read.valid and read.header is None, read.findings  # the original came without an AppHdr
    returned = read.payload.transactions[0]
    assert isinstance(read.payload, PaymentReturnMessage) and returned.reason.code == "MD06"
    assert (returned.uetr, returned.end_to_end_id, str(returned.returned)) == (MINT_UETR, MINT_E2E, "250.00 EUR")
    assert json.loads(cli("balances", "--json").output)["supply"] == {"EUR": "1000.00"}
    rest = cli("return", f"{MINT_MSG}/{MINT_E2E}", "--reason", "CUST")
    assert rest.exit_code == 0 and "1000.00 EUR" in rest.output and "1250.00 of 1250.00" in rest.output
    assert json.loads(cli("balances", "--json").output)["supply"] == {"EUR": "0.00"}
    refused = cli("return", MINT_E2E, "--reason", "CUST", "--json")
    assert refused.exit_code == 1 and _json(refused)["reason"] == "ARDT"
    shown = json.loads(cli("status", MINT_UETR, "--json").output)
    [tx] = [t for m in shown["messages"] for t in m["transactions"]]
    assert tx["returned"] == "1250.00" and tx["info"] == "fully returned (1250.00 EUR)"
    assert [(r["amount"], r["reason"], r["origin"]) for r in tx["returns"]] == [
        ("250.00", "MD06", "operator"), ("1000.00", "CUST", "operator")]
    audit = cli("audit", "verify", "--json")
    assert audit.exit_code == 0, audit.output


def test_refusals_and_usage(seeded_cli) -> None:
    cli = _replayed(seeded_cli)
    assert cli("return", MINT_UETR, "--reason", "TOOLONG").exit_code == 2
    assert cli("return", MINT_UETR).exit_code == 2  # --reason is required
    assert cli("return", MINT_UETR, "--reason", "AC04", "--amount", "1.001").exit_code == 2
    assert cli("return", MINT_UETR, "--reason", "AC04", "--amount", "-1").exit_code == 2
    beyond = cli("return", MINT_UETR, "--reason", "AC04", "--amount", "1250.01")
    assert beyond.exit_code == 1 and "AM09" in beyond.output
    unknown = cli("return", "NO-SUCH-PAYMENT", "--reason", "AC04")
    assert unknown.exit_code == 1 and "no settled payment found" in unknown.output
    assert json.loads(cli("balances", "--json").output)["supply"] == {"EUR": "1250.00"}
    with_outbox = cli("return", MINT_UETR, "--reason", "AC04", "--amount", "0.01", "--json")
    assert with_outbox.exit_code == 0


def test_an_ambiguous_end_to_end_id_is_refused_with_the_candidates(seeded_cli, tmp_path: Path) -> None:
    from builders import Tx, pacs008
    twice = tmp_path / "twice"
    twice.mkdir()
    for n in (1, 2):
        (twice / f"{n}.xml").write_text(pacs008([Tx(amount="5.00", creditor_iban="DE82500199000417283905",
                                                     end_to_end_id="SAME-E2E")], msg_id=f"MSG-{n}"))
    assert seeded_cli("replay", str(twice)).exit_code == 0
    result = seeded_cli("return", "SAME-E2E", "--reason", "DUPL", "--json")
    assert result.exit_code == 1
    said = _json(result)
    assert said["reason"] == "ambiguous" and [c["message_id"] for c in said["candidates"]] == ["MSG-1", "MSG-2"]
    assert seeded_cli("return", "MSG-2/SAME-E2E", "--reason", "DUPL").exit_code == 0


def test_the_samples_replay_returns_and_all(seeded_cli, tmp_path: Path) -> None:
    """samples/pacs004 return payments of samples/pacs008 through `tokenbridge replay`."""
    cli = seeded_cli
    assert cli("replay", str(SAMPLES / "pacs008")).exit_code == 1  # the samples' rejected ones
    before = json.loads(cli("balances", "--json").output)
    out = tmp_path / "replies"
    result = cli("replay", "--out", str(out), str(SAMPLES / "pacs004"))
    said = " ".join(result.output.split())
    assert result.exit_code == 1, said  # the last sample is refused on purpose (beyond what is left)
    assert "RJCT AM09" in said and "burn 250.00 EUR <- w-alice" in said
    for reply in sorted(out.glob("*.xml")):
        read = MessageReader().read(reply.read_bytes())
        # each answer, and the camt.054s of the reversals (after the answer)
        assert read.valid and read.message_type[:8] in ("pacs.002", "camt.054"), (reply.name, read.findings)
        assert read.message_type.startswith("pacs.002") or ".1." not in reply.name
    after = json.loads(cli("balances", "--json").output)
    assert after != before
    again = cli("replay", str(SAMPLES / "pacs004"))
    assert "seen before" in again.output and json.loads(cli("balances", "--json").output) == after
