"""`tokenbridge`: the operators' command line. Each command is a thin shell over the core."""
from __future__ import annotations

import sys

import click

from adapters.cli.validate import validate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tokenbridge")
def cli() -> None:
    """The ISO 20022 <-> deposit-token bridge."""


cli.add_command(validate)


def main() -> None:
    """Console-script entry point; click maps usage errors to exit code 2."""
    sys.exit(cli.main(standalone_mode=True))
