"""``images`` and ``compose``: the container images and deploy/compose.yaml, run on this
host under podman (or docker) as docs/deployment.md describes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from couponrush.cli.app import app, console

compose_app = typer.Typer(no_args_is_help=True, help="deploy/compose.yaml on this host.")
app.add_typer(compose_app, name="compose")

Root = Annotated[Path, typer.Option(help="The repository's root (the build context)")]
Stores = Annotated[
    bool, typer.Option("--stores/--no-stores", help="Also the stores' images from Debian's "
                       "packages, for compose where no registry serves them")
]  # fmt: skip


@app.command()
def images(root: Root = Path("."), stores: Stores = False) -> None:
    """Build couponrush:local and couponrush-gateway:local (and with --stores the stores'
    images), making the Debian base first where no registry serves it; print each size."""
    from couponrush.stack import containers, images

    engine = containers.detect(root.resolve())
    chosen = images.PROJECT + (images.STORES if stores else ())
    images.build_all(engine, root.resolve(), chosen, console.print)
