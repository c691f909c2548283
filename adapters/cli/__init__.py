"""`tokenbridge`: the operators' command line. Each command is a thin shell over the core."""
from __future__ import annotations

import sys

import click

from adapters.cli.accounts import accounts
from adapters.cli.audit import audit
from adapters.cli.broker import dead, publish, replies, topology, worker
from adapters.cli.demo import demo
from adapters.cli.holds import holds
from adapters.cli.ledger import balances, ledger
from adapters.cli.reconcile import reconcile
from adapters.cli.serve import serve, tokens
from adapters.cli.replay import replay
from adapters.cli.settle import settle
from adapters.cli.returns import return_
from adapters.cli.statement import statement
from adapters.cli.status import status
from adapters.cli.sweeps import sweep
from adapters.cli.validate import validate
from adapters.logs import configure_logging


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tokenbridge")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default=None, help="Default: info for machines, warning on a terminal.")
def cli(log_level: str | None) -> None:
    """The ISO 20022 <-> deposit-token bridge."""
    configure_logging(log_level)


for command in (validate, ledger, accounts, replay, balances, demo, topology, worker, publish, dead,
                reconcile, statement, audit, status, replies, settle, return_, serve, tokens, holds,
                sweep):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point; click maps usage errors to exit code 2."""
    sys.exit(cli.main(standalone_mode=True))
