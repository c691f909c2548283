"""The operations console in a real headless Chromium (Debian's `chromium`, driven by
Playwright), against a real uvicorn, store and RabbitMQ: log in with a token, find a payment by
UETR, open its timeline, re-drive a dead letter (a viewer cannot) and see it answered.

Without a browser (or the playwright package) the test skips saying so; under CI=true that
skip is a failure (`.ci/run` installs chromium)."""
from __future__ import annotations

import os
import shutil

import pytest

from broker import AMQP_URL, drain
from builders import Tx, pacs008
from conftest import service_unavailable
from console_support import MINT_UETR, console, replay_samples, running_server, tokens
from test_console_broker import dead_letter
from test_worker import ALICE, FATIMA, RunningWorker

pytestmark = pytest.mark.slow  # a browser, the real broker
CHROMIUM = os.environ.get("TOKENBRIDGE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
WAIT_MS = 20_000


@pytest.fixture()
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        service_unavailable("the playwright package (pip install -e '.[test]')", error)
    if CHROMIUM is None:
        service_unavailable("a headless Chromium (apt-get install chromium, or set TOKENBRIDGE_CHROMIUM)",
                            FileNotFoundError("chromium"))
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox"])  # CI runs as root
        yield launched
        launched.close()


def log_in(page, base: str, secret: str) -> None:
    page.goto(f"{base}/")
    page.fill("#token", secret)
    page.click("#login button[type=submit]")
    page.wait_for_selector("#nav:not([hidden])", timeout=WAIT_MS)


def test_console_finds_a_payment_shows_its_timeline_and_redrives_a_dead_letter(
        browser, registry, amqp_prefix) -> None:
    replay_samples(registry, "pacs008")
    secrets = tokens(registry)
    stuck = Tx(amount="4.00", debtor_iban=FATIMA, creditor_iban=ALICE)
    dead_letter(amqp_prefix, pacs008([stuck]).encode())
    with running_server(console(registry, AMQP_URL, amqp_prefix)) as base, \
            RunningWorker(registry, amqp_prefix):
        page = browser.new_page()
        page.goto(f"{base}/")
        page.fill("#token", "tbk_not-a-token")
        page.click("#login button[type=submit]")
        page.wait_for_selector("#login-error:has-text('unknown API token')", timeout=WAIT_MS)

        # a viewer finds the payment by UETR and opens its timeline, but cannot re-drive
        log_in(page, base, secrets["viewer"])
        page.fill("#q", MINT_UETR)
        page.click("#search button[type=submit]")
        page.click(f"a.open:has-text('{MINT_UETR}')", timeout=WAIT_MS)
        timeline = page.wait_for_selector("#timeline", timeout=WAIT_MS).inner_text()
        for seen in ("pacs.008.001.08 in", "validated: accepted", "mint 1250.00 EUR", "pacs.002"):
            assert seen in timeline
        page.click("nav a[href='#/dead-letters']")
        page.click("a.open", timeout=WAIT_MS)
        page.wait_for_selector("pre:has-text('GrpHdr')", timeout=WAIT_MS)
        page.click("#redrive")
        page.wait_for_selector("#redrive-outcome:has-text('needs an operator token')", timeout=WAIT_MS)

        # an operator re-drives it; the worker answers; the console shows the payment accepted
        page.click("#logout")
        log_in(page, base, secrets["operator"])
        page.goto(f"{base}/#/dead-letters")
        page.click("a.open", timeout=WAIT_MS)
        page.click("#redrive")
        page.wait_for_selector("#redrive-outcome:has-text('re-driven')", timeout=WAIT_MS)
        [(properties, _)] = drain(f"{amqp_prefix}.out", lambda got: len(got) >= 1)
        assert properties.type == "pacs.002.001.10"
        page.goto(f"{base}/#/payments/{stuck.uetr}")
        page.click(f"a.open:has-text('{stuck.uetr}')", timeout=WAIT_MS)
        timeline = page.wait_for_selector("#timeline", timeout=WAIT_MS).inner_text()
        assert "validated: accepted" in timeline and "mint 4.00 EUR" in timeline and "pacs.002" in timeline
        page.goto(f"{base}/#/audit")
        page.wait_for_selector("td:has-text('otto')", timeout=WAIT_MS)
        for path in ("#/health", "#/reconciliations", "#/dead-letters", "#/balances/EUR"):
            page.goto(f"{base}/{path}")  # every page draws, without an error
            page.wait_for_selector("#view h1", timeout=WAIT_MS)
            assert not page.query_selector("#view [role=alert]"), (path, page.inner_text("#view"))
        page.wait_for_selector("svg path", timeout=WAIT_MS)  # the balances chart
        content = page.content()
        assert all(secret not in content for secret in secrets.values())  # never shows a secret
