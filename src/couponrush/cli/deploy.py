"""``images`` and ``compose``: the container images and deploy/compose.yaml, run on this
host under podman (or docker) as docs/deployment.md describes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from couponrush.cli.app import app, console

if TYPE_CHECKING:
    from couponrush.rush.deployed import RaceResult
    from couponrush.stack.compose import Project as Compose

compose_app = typer.Typer(no_args_is_help=True, help="deploy/compose.yaml on this host.")
app.add_typer(compose_app, name="compose")
kube_app = typer.Typer(no_args_is_help=True, help="The Kubernetes manifests on this host.")
app.add_typer(kube_app, name="kube")

Root = Annotated[Path, typer.Option(help="The repository's root (the build context)")]
EnvFile = Annotated[Path, typer.Option(help="KEY=value lines holding the REDIS_*_PASSWORD values")]
DEPLOY = Path("deploy")
Stores = Annotated[
    bool,
    typer.Option(
        "--stores/--no-stores",
        help="Also the stores' images from Debian's "
        "packages, for compose where no registry serves them",
    ),
]


@app.command()
def images(root: Root = Path("."), stores: Stores = False) -> None:
    """Build couponrush:local and couponrush-gateway:local (and with --stores the stores'
    images), making the Debian base first where no registry serves it; print each size."""
    from couponrush.stack import containers, images

    engine = containers.detect(root.resolve())
    chosen = images.PROJECT + (images.STORES if stores else ())
    images.build_all(engine, root.resolve(), chosen, console.print)


def project(root: Path) -> Compose:
    from couponrush.stack import compose

    return compose.Project.for_repo(root.resolve(), say=console.print)


@compose_app.command("env")
def env(root: Root = Path(".")) -> None:
    """Write deploy/compose.env from its example with fresh secrets (and a development
    signing key pair under deploy/secrets/), unless it exists; render Redis's users from
    it into deploy/secrets/redis (the ACL file and the replicas' login)."""
    from couponrush.stack import compose_env

    folder = root / DEPLOY
    target = folder / "compose.env"
    made = compose_env.write_env(
        folder / "compose.env.example", target, folder / "secrets" / "shop-signing-key.pem"
    )
    console.print(f"{target}: {'written with fresh secrets' if made else 'kept as it is'}")
    console.print(f"Redis users: {project(root).redis_secrets()}")


@compose_app.command()
def acl(env_file: EnvFile = Path("deploy/compose.env"), root: Root = Path(".")) -> None:
    """Print Redis's ACL file rendered with the passwords of an env file (KEY=value
    lines: compose.env, or the values of a Kubernetes Secret), for a Redis run elsewhere."""
    from couponrush.stack import redis_acl
    from couponrush.stack.compose_env import read_env

    template = (root / redis_acl.TEMPLATE).read_text()
    typer.echo(redis_acl.render(template, read_env(env_file)), nl=False)


@compose_app.command()
def up(root: Root = Path(".")) -> None:
    """Start the stack (stores, init jobs, app, pipeline, gateway) and return once every
    service is healthy; print how long that took. Interrupted (Ctrl-C, SIGTERM), it
    removes what it had started."""
    from couponrush.stack.compose import terminate_as_interrupt

    chosen = project(root)
    with terminate_as_interrupt():
        try:
            took = chosen.up()
        except KeyboardInterrupt:
            console.print("interrupted: removing what was started")
            chosen.down()
            raise typer.Exit(130) from None
    port = compose_port(chosen)
    console.print(f"[green]healthy[/] after {took:.0f} s: gateway on http://127.0.0.1:{port}")


@compose_app.command()
def down(root: Root = Path(".")) -> None:
    """Stop and remove every container, volume and network of the stack."""
    swept = project(root).down()
    if swept:
        console.print(f"swept after compose down: {', '.join(swept)}")
    console.print("[green]down[/]: no container, volume or network of couponrush left")


def compose_port(chosen: Compose) -> str:
    from couponrush.stack.compose_env import read_env

    return read_env(chosen.env_file).get("GATEWAY_PORT") or "8080"


Short = Annotated[
    bool,
    typer.Option(
        help="The short form: gateway, app x2, Redis with a replica, "
        "PostgreSQL, one consumer (make test runs it)"
    ),
]
Clients = Annotated[int, typer.Option(help="Simulated clients (default 20,000; short 4,000)")]
Report = Annotated[Path | None, typer.Option(help="Write the figures as JSON here")]


@compose_app.command()
def race(
    root: Root = Path("."), short: Short = False, clients: Clients = 0, report: Report = None
) -> None:
    """Bring the stack up with the load-test switches in a compose env of its own, race
    it through the gateway while an app container and the event's Redis primary are
    killed, check the invariants, and bring it down; exit 1 on a breach."""
    from couponrush.rush.deployed import run_race

    _verdict(run_race(root.resolve(), short, clients, console.print), report)


@kube_app.command("race")
def kube_race(root: Root = Path("."), clients: Clients = 0, report: Report = None) -> None:
    """Play the Kubernetes manifests' workloads with podman kube play (the podman overlay:
    the images built here, a Redis and a PostgreSQL of its own), race them through the
    gateway pod while an app pod and the Redis pod are killed, check the invariants, and
    remove everything; exit 1 on a breach."""
    from couponrush.rush.kube_race import run_kube_race

    _verdict(run_kube_race(root.resolve(), clients, console.print), report)


def _verdict(result: RaceResult, report: Path | None) -> None:
    import json

    body = result.to_json()
    console.print_json(json.dumps(body))
    if report:
        report.write_text(json.dumps(body, indent=2))
    if result.breaches or not result.set_check.ok:
        raise typer.Exit(1)
