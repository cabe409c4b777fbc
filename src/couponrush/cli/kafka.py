"""``kafka fetch``: the Apache Kafka broker's jars, for the local stack and the images."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from couponrush.cli.app import app

kafka_app = typer.Typer(no_args_is_help=True, help="The Apache Kafka broker the stack runs.")
app.add_typer(kafka_app, name="kafka")

Cache = Annotated[
    Path | None,
    typer.Option(help="Cache folder (default: $XDG_CACHE_HOME/couponrush or ~/.cache/couponrush)"),
]


@kafka_app.command()
def fetch(cache: Cache = None) -> None:
    """Fetch the pinned broker's jars with Maven (once; checksums checked) and print the
    folder holding them."""
    from couponrush.stack import kafka_dist

    typer.echo(kafka_dist.fetch(cache))
