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


@kafka_app.command("api-versions")
def api_versions(
    bootstrap: Annotated[
        str | None, typer.Option(help="Brokers to ask (default: the running local stack's)")
    ] = None,
) -> None:
    """What each broker answers to ApiVersions, through Kafka's own BrokerApiVersionsCommand:
    one block per broker, its address and node id, then every API with its versions."""
    import subprocess

    from couponrush.stack import kafka, kafka_dist

    if bootstrap is None:
        from couponrush.cli.stack import running_state

        state = running_state()
        bootstrap = state.environment().get("COUPONRUSH_KAFKA_BOOTSTRAP")
        if not bootstrap:
            raise typer.BadParameter("the local stack runs no Kafka (couponrush up --queue kafka)")
    tool = "org.apache.kafka.tools.BrokerApiVersionsCommand"
    argv = kafka.tool_argv(tool, ["--bootstrap-server", bootstrap], kafka_dist.fetch())
    raise typer.Exit(subprocess.run(argv, check=False).returncode)
