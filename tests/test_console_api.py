"""The operations API (`tokenbridge serve`): access by token and role, payment search and
timeline, reconciliation reports, balances over time, health, and what is not available yet.
On SQLite and PostgreSQL; the broker's parts are in test_console_broker.py."""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from adapters.http.app import create_app
from adapters.sql import audit as sql_audit
from adapters.sql.tables import api_tokens
from console_support import (ALICE_IBAN, ALICE_WALLET, MINT_E2E, MINT_MSG, MINT_UETR, bearer, console,
                             replay_samples, running_server, tokens)


@pytest.fixture()
def api(registry):
    """(client, secrets, store) on a store with the sample payments and statements replayed."""
    replay_samples(registry, "pacs008", "camt053")
    secrets = tokens(registry)
    with TestClient(create_app(console(registry))) as client:
        yield client, secrets, registry


def test_every_api_request_needs_an_active_token(api) -> None:
    from structlog.testing import capture_logs
    client, secrets, _ = api
    with capture_logs() as logged:
        for headers, reason in (({}, "an API token is needed"), (bearer("tbk_nonsense"), "unknown API token"),
                                (bearer(secrets["revoked"]), "revoked")):
            for path in ("/api/payments?q=x", "/api/balances", "/openapi.json", "/api/audit/actions"):
                refused = client.get(path, headers=headers)
                assert refused.status_code == 401, (path, refused.text)
                assert reason in refused.json()["detail"]
                assert refused.headers["www-authenticate"] == "Bearer"
    refusals = [e for e in logged if e["event"] == "api request refused"]
    assert len(refusals) == 12 and {e["status"] for e in refusals} == {401}
    assert {e["token"] for e in refusals} == {None, "rex"} and "/api/balances" in {e["path"] for e in refusals}
    assert not any(secret in str(logged) for secret in secrets.values())
    # the console's page itself holds no data: it loads without a token
    page = client.get("/")
    assert page.status_code == 200 and "console.js" in page.text
    assert client.get("/static/console.js").status_code == 200


def test_openapi_describes_the_api_behind_a_token(api) -> None:
    client, secrets, _ = api
    described = client.get("/openapi.json", headers=bearer(secrets["viewer"])).json()
    for path in ("/api/payments", "/api/payments/{ref}", "/api/dead-letters",
                 "/api/dead-letters/{letter_id}/redrive", "/api/reconciliations",
                 "/api/balances/history", "/api/health"):
        assert path in described["paths"]
    assert "HTTPBearer" in json.dumps(described["components"]["securitySchemes"])
    assert client.get("/docs").status_code == 404  # FastAPI's docs page would load a CDN


def test_payment_found_by_uetr_end_to_end_id_msg_id_account_and_wallet(api) -> None:
    client, secrets, _ = api
    headers = bearer(secrets["viewer"])
    for query, found_by in ((MINT_UETR, "reference"), (MINT_UETR.upper(), "reference"),
                            (MINT_E2E, "reference"), (MINT_MSG, "reference"),
                            (ALICE_IBAN, "account"), (ALICE_WALLET, "wallet")):
        found = client.get("/api/payments", params={"q": query}, headers=headers).json()
        assert found["found_by"] == found_by, query
        assert MINT_UETR in [m["ref"] for m in found["matches"]], query
    mint = next(m for m in client.get("/api/payments", params={"q": ALICE_WALLET},
                                      headers=headers).json()["matches"] if m["ref"] == MINT_UETR)
    assert (mint["kind"], mint["credit_wallet"], mint["debit_wallet"], mint["currency"]) == (
        "mint", ALICE_WALLET, None, "EUR")
    nothing = client.get("/api/payments", params={"q": "NO-SUCH-REF"}, headers=headers).json()
    assert nothing["found_by"] == "nothing" and nothing["matches"] == []


def test_a_payments_timeline_runs_from_the_message_in_to_its_reply(api) -> None:
    client, secrets, _ = api
    shown = client.get(f"/api/payments/{MINT_UETR}", headers=bearer(secrets["viewer"])).json()
    [message] = shown["messages"]
    assert message["message_id"] == MINT_MSG and message["verdict"] == "accepted"
    assert message["transactions"][0]["operation"]["kind"] == "mint"
    kinds = [e["kind"] for e in shown["timeline"]]
    assert kinds[:2] == ["received", "verdict"]
    assert kinds.index("operation") < kinds.index("sent")
    sent = next(e for e in shown["timeline"] if e["kind"] == "sent")
    assert sent["title"].startswith("pacs.002") and "in the outbox" in sent["detail"]
    missing = client.get("/api/payments/NO-SUCH-REF", headers=bearer(secrets["viewer"]))
    assert missing.status_code == 404


def test_reconciliation_reports_name_their_statement_and_in_flight_amounts(api) -> None:
    client, secrets, _ = api
    headers = bearer(secrets["viewer"])
    listed = client.get("/api/reconciliations", headers=headers).json()["reports"]
    assert len(listed) == 3  # one per sample camt.053
    eur = next(r for r in listed if r["statements"][0]["currency"] == "EUR")
    assert eur["source"]["message_type"].startswith("camt.053") and eur["source"]["message_id"]
    assert eur["source"]["message_id"] == eur["statements"][0]["message_id"]
    assert eur["statements"][0]["in_flight"] is not None and eur["statements"][0]["ledger_closing"]
    whole = client.get(f"/api/reconciliations/{eur['id']}", headers=headers).json()
    assert whole["report"]["statements"][0]["account"] == eur["statements"][0]["account"]
    page = client.get(f"/api/reconciliations/{eur['id']}/html", headers=headers)
    assert page.status_code == 200 and "<svg" in page.text and "Reconciliation report" in page.text
    assert client.get("/api/reconciliations/nope", headers=headers).status_code == 404


def test_balances_and_supply_over_time_agree_with_the_ledger(api) -> None:
    client, secrets, store = api
    headers = bearer(secrets["viewer"])
    now = client.get("/api/balances", headers=headers).json()
    with store() as uow:
        assert set(now["supply"]) == set(uow.ledger.supply())
    history = client.get("/api/balances/history", params={"currency": "EUR"}, headers=headers).json()
    assert history["supply"][-1][1] == now["supply"]["EUR"]
    last = {w: series[-1][1] for w, series in history["wallets"].items()}
    from decimal import Decimal
    assert sum(Decimal(v) for v in last.values()) == Decimal(now["supply"]["EUR"])
    for wallet in now["wallets"]:
        if wallet["currency"] == "EUR":
            assert last[wallet["wallet"]] == wallet["balance"]
    assert history["holds"] is None and "not available yet" in history["holds_note"]
    assert client.get("/api/balances/history", params={"currency": "XXQ"}, headers=headers).status_code == 422


def test_health_without_a_broker_still_shows_the_store(api) -> None:
    client, secrets, _ = api
    health = client.get("/api/health", headers=bearer(secrets["viewer"])).json()
    assert health["broker"]["reachable"] is False and "***" in health["broker"]["url"]
    assert health["outbox"]["backlog"] > 0 and health["outbox"]["lag_seconds"] is not None
    assert health["settlement"]["ledger"] == "sql" and health["settlement"]["unfinal"] == 0
    assert health["last_reconciliation"]["statements"]
    assert health["audit"]["intact"] is True and health["audit"]["links"] > 0


def test_an_operator_returns_a_payment_and_the_action_is_audited(api) -> None:
    client, secrets, store = api
    path = f"/api/payments/{MINT_UETR}/return"
    assert client.post(path, json={"reason": "MD06"}, headers=bearer(secrets["viewer"])).status_code == 403
    assert client.post(path, json={"reason": "no!"}, headers=bearer(secrets["operator"])).status_code == 422
    done = client.post(path, json={"reason": "MD06", "amount": "10.00"}, headers=bearer(secrets["operator"]))
    assert done.status_code == 200, done.text
    answer = done.json()
    assert answer["operation"]["kind"] == "burn" and answer["returned_total"] == "10.00"
    assert answer["message"]["message_type"].startswith("pacs.004")
    too_much = client.post(path, json={"reason": "MD06", "amount": "99999.00"}, headers=bearer(secrets["operator"]))
    assert too_much.status_code == 422 and "AM09" in too_much.json()["detail"]
    unknown = client.post("/api/payments/nosuchref/return", json={"reason": "MD06"},
                          headers=bearer(secrets["operator"]))
    assert unknown.status_code == 404
    actions = client.get("/api/audit/actions", headers=bearer(secrets["viewer"])).json()["actions"]
    assert [(a["action"], a["outcome"], a["token"]) for a in actions] == [
        ("return", "not_found", "otto"), ("return", "refused", "otto"), ("return", "done", "otto")]
    shown = client.get(f"/api/payments/{MINT_UETR}", headers=bearer(secrets["viewer"])).json()
    [tx] = shown["messages"][0]["transactions"]
    assert tx["returned"] == "10.00"
    assert any(r["message_type"].startswith("pacs.004") for r in shown["messages"][0]["replies"])


def test_actions_not_available_yet_say_so_and_still_need_an_operator(api) -> None:
    client, secrets, store = api
    for path in ("/api/holds/x/release", "/api/holds/x/void"):
        assert client.post(path, headers=bearer(secrets["viewer"])).status_code == 403
        answer = client.post(path, headers=bearer(secrets["operator"]))
        assert answer.status_code == 501 and "not available yet" in answer.json()["detail"]
    assert client.get("/api/holds", headers=bearer(secrets["viewer"])).status_code == 501
    assert client.get("/api/audit/actions", headers=bearer(secrets["viewer"])).json()["actions"] == []


def test_the_store_keeps_only_the_secrets_hash(api) -> None:
    _, secrets, store = api
    with store.engine.connect() as connection:
        rows = connection.execute(select(api_tokens)).all()
        dumped = " ".join(str(tuple(r)) for r in rows)
    assert {r.name for r in rows} == {"vera", "otto", "rex"}
    assert all(secret not in dumped for secret in secrets.values())


def test_an_operator_action_is_a_link_of_the_audit_chain(api) -> None:
    from datetime import datetime, timezone

    from adapters.sql.operator_actions import record_action
    _, _, store = api
    with store.transaction() as transaction:
        record_action(transaction.connection, token_name="otto", action="redrive", target="abc",
                      outcome="done", detail="re-drove abc", at=datetime.now(timezone.utc))
    with store.engine.connect() as connection:
        assert sql_audit.verify(connection)[1] == []
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE operator_actions SET token_name = 'mallory'"))
    with store.engine.connect() as connection:
        [finding] = sql_audit.verify(connection)[1]
    assert finding.table == "operator_actions" and "changed" in finding.problem


def test_the_api_on_a_real_uvicorn(api) -> None:
    import httpx
    _, secrets, store = api
    with running_server(console(store)) as base:
        assert httpx.get(f"{base}/api/balances").status_code == 401
        found = httpx.get(f"{base}/api/payments", params={"q": MINT_UETR},
                          headers=bearer(secrets["viewer"])).json()
        assert found["matches"][0]["ref"] == MINT_UETR
        assert httpx.get(f"{base}/").status_code == 200
