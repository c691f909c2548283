"""Configuration is checked when it is loaded: a bad value stops the command before it connects,
with one line naming the variable and the usage exit code 2."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from adapters.cli import cli
from adapters.config import load_settings

SECRET = "s3cr3t-Pa55"


@pytest.mark.parametrize("name, value, says", [
    ("BATCH_SIZE", "0", "must be from 1"),
    ("BATCH_SIZE", "-5", "must be from 1"),
    ("BATCH_SIZE", "ten", "must be an integer"),
    ("PREFETCH", "0", "must be from 1 to 65535"),
    ("PREFETCH", "70000", "must be from 1 to 65535"),
    ("MAX_ATTEMPTS", "0", "must be from 1"),
    ("MAX_MESSAGE_BYTES", "0", "must be from 1"),
    ("METRICS_PORT", "65536", "must be from 0 to 65535"),
    ("EVM_CONFIRMATIONS", "0", "must be from 1"),
    ("EVM_MAX_IN_FLIGHT", "0", "must be from 1"),
    ("EVM_REORG_LOOKBACK", "0", "must be from 1"),
    ("EVM_DEEP_REORG", "ignore", "must be one of reapply, flag"),
    ("AMQP_URL", "http://127.0.0.1:5672/", "must be amqp:// or amqps://"),
    ("AMQP_URL", "amqp://guest:guest@127.0.0.1:notaport/", "must be amqp:// or amqps://"),
    ("AMQP_URL", "amqp://a:b@node1:5672/,nonsense", "must be amqp:// or amqps://"),
    ("DATABASE_URL", "not a url", "is not an SQLAlchemy database URL"),
    ("EVM_URL", "ws://127.0.0.1:8545", "http:// or https://"),
    ("EVM_KEY", "0x1234", "is not a private key"),
    ("EVM_CONTRACTS", "EUR=0x12", "is not CURRENCY=0xADDRESS"),
    ("EVM_CURRENCIES", "EUR,EURO", "is not a currency code"),
    ("ISSUER_BIC", "BANKDE", "is not a BIC"),
    ("ALLOWED_SENDERS", "BANKDEFFXXX,not-a-bic", "not a BIC: 'not-a-bic'"),
    ("AMQP_PREFIX", "has space", "letters, digits"),
    ("REPLY_VERSIONS", "pacs.008.001.08", "bad reply version mapping"),
    ("NOTIFICATIONS", "sometimes", "must be on or off"),
    ("NOTIFICATION_VERSION", "camt.054.001.15", "not a camt.054 version"),
    ("NOTIFICATION_VERSION", "camt.053.001.08", "not a camt.054 version"),
    ("TIMEZONE", "Europe/Atlantis", "is not an IANA time zone"),
])
def test_a_bad_setting_is_refused_when_loaded(name: str, value: str, says: str) -> None:
    with pytest.raises(ValueError, match=f"TOKENBRIDGE_{name}") as refused:
        load_settings({f"TOKENBRIDGE_{name}": value})
    assert says in str(refused.value) and "\n" not in str(refused.value)


def test_good_settings_load() -> None:
    settings = load_settings({
        "TOKENBRIDGE_BATCH_SIZE": "1", "TOKENBRIDGE_PREFETCH": "65535", "TOKENBRIDGE_METRICS_PORT": "0",
        "TOKENBRIDGE_AMQP_URL": "amqp://u:p@node1:5672/%2F, amqps://u:p@node2/vhost",
        "TOKENBRIDGE_DATABASE_URL": "postgresql+psycopg://bridge:pw@db/bridge",
        "TOKENBRIDGE_ISSUER_BIC": "bankdeff", "TOKENBRIDGE_ALLOWED_SENDERS": "BANKDEFFXXX, BANKFRPP,",
        "TOKENBRIDGE_EVM_URL": "https://node.example:8545", "TOKENBRIDGE_EVM_KEY": "0x" + "ab" * 32,
        "TOKENBRIDGE_EVM_CONTRACTS": "EUR=0x" + "12" * 20 + "@7,JPY=0x" + "34" * 20,
        "TOKENBRIDGE_REPLY_VERSIONS": "pacs.008.001.08=pacs.002.001.12",
        "TOKENBRIDGE_EVM_DEEP_REORG": "flag", "TOKENBRIDGE_EVM_REORG_LOOKBACK": "64"})
    assert settings.batch_size == 1 and settings.prefetch == 65535
    assert (settings.evm_deep_reorg, settings.evm_reorg_lookback) == ("flag", 64)


def test_reply_version_overrides_reach_the_bus_for_the_2026_release_too() -> None:
    from adapters.bootstrap import bridge_config
    settings = load_settings({"TOKENBRIDGE_REPLY_VERSIONS":
                              "pacs.008.001.08=pacs.002.001.12, pacs.008.001.14=pacs.002.001.15"})
    assert bridge_config(settings).reply_versions == {"pacs.008.001.08": "pacs.002.001.12",
                                                      "pacs.008.001.14": "pacs.002.001.15"}
    with pytest.raises(ValueError, match="TOKENBRIDGE_REPLY_VERSIONS.*not a pacs.008 version"):
        load_settings({"TOKENBRIDGE_REPLY_VERSIONS": "pacs.008.001.15=pacs.002.001.16"})


@pytest.mark.parametrize("environ, notifying, version", [
    ({}, True, "camt.054.001.08"),  # on by default, in the CBPR+ version
    ({"TOKENBRIDGE_NOTIFICATIONS": "off"}, False, "camt.054.001.08"),
    ({"TOKENBRIDGE_NOTIFICATIONS": "ON", "TOKENBRIDGE_NOTIFICATION_VERSION": "2"}, True, "camt.054.001.02"),
])
def test_notification_settings_reach_the_bus(environ, notifying: bool, version: str) -> None:
    from adapters.bootstrap import bridge_config
    config = bridge_config(load_settings(environ))
    assert (config.notifications, config.notification_version) == (notifying, version)


def test_notifications_may_be_switched_in_a_config_file_as_a_toml_boolean(tmp_path) -> None:
    path = tmp_path / "bridge.toml"
    path.write_text('notifications = false\ntimezone = "Europe/Berlin"\n')
    settings = load_settings({"TOKENBRIDGE_CONFIG": str(path)})
    assert not settings.notifying and settings.timezone == "Europe/Berlin"


def test_secrets_in_a_bad_url_or_key_are_not_repeated() -> None:
    for name, value in (("DATABASE_URL", f"postgresql://bridge:{SECRET}@db:port/x"),
                        ("AMQP_URL", f"amqp://bridge:{SECRET}@host:port/"),
                        ("EVM_KEY", SECRET)):
        with pytest.raises(ValueError) as refused:
            load_settings({f"TOKENBRIDGE_{name}": value})
        assert SECRET not in str(refused.value)


@pytest.mark.parametrize("args", [["worker"], ["topology"], ["publish", "samples"], ["dead", "list"]])
def test_broker_commands_exit_2_before_connecting(args, monkeypatch) -> None:
    # A broker that is not there: the check must come first, or the command would say "unreachable".
    monkeypatch.setenv("TOKENBRIDGE_AMQP_URL", "amqp://guest:guest@127.0.0.1:1/%2F")
    monkeypatch.setenv("TOKENBRIDGE_BATCH_SIZE", "0")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        "Error: configuration: TOKENBRIDGE_BATCH_SIZE must be from 1, not 0"]


def test_a_config_file_value_is_checked_too(tmp_path, monkeypatch) -> None:
    config = tmp_path / "bridge.toml"
    config.write_text("prefetch = 0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="TOKENBRIDGE_PREFETCH must be from 1 to 65535, not 0"):
        load_settings({"TOKENBRIDGE_CONFIG": str(config)})
    config.write_text("batch_size = true\n", encoding="utf-8")
    with pytest.raises(ValueError, match="TOKENBRIDGE_BATCH_SIZE"):
        load_settings({"TOKENBRIDGE_CONFIG": str(config)})


@pytest.mark.parametrize("given, taken", [
    ("postgresql://bridge:pw@db1:5432,db2:5433/bridge?target_session_attrs=read-write",
     "postgresql+psycopg://bridge:pw@/bridge?host=db1:5432&host=db2:5433&target_session_attrs=read-write"),
    ("postgresql+psycopg://postgres@127.0.0.1:6001,127.0.0.1:6002/db",
     "postgresql+psycopg://postgres@/db?host=127.0.0.1:6001&host=127.0.0.1:6002"),
    ("postgresql+psycopg://db1,db2", "postgresql+psycopg:///?host=db1&host=db2"),
    ("postgresql+psycopg://bridge@db1:5432/bridge", "postgresql+psycopg://bridge@db1:5432/bridge"),
    ("sqlite:///tokenbridge.db", "sqlite:///tokenbridge.db"),
])
def test_a_primary_and_its_standbys_in_one_url_are_taken_as_libpq_writes_them(given: str, taken: str) -> None:
    from sqlalchemy.engine import make_url

    from adapters.sql.urls import normalise_url
    assert normalise_url(given) == taken
    settings = load_settings({"TOKENBRIDGE_DATABASE_URL": given})  # accepted when loaded
    assert settings.database_url == given
    if "," in given:
        assert len(make_url(taken).query["host"]) == 2  # SQLAlchemy hands psycopg both hosts
