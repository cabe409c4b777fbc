"""The deployment run for real (make test's short form of `make compose-test`): the two
images built with the engine here, then a smaller compose (gateway, app x2, one Redis with
a replica, PostgreSQL, the consumer) raced through its published gateway while one app
container and the Redis primary are killed with SIGKILL, the invariants checked, and the
stack brought down with nothing of it left."""

from __future__ import annotations

import shutil

import pytest

from couponrush.rush.deployed import race_name, run_race
from couponrush.stack import containers, images
from couponrush.stack.compose import Project
from tests.deploy.manifests import ROOT

pytestmark = pytest.mark.skipif(
    shutil.which("podman") is None and shutil.which("docker") is None,
    reason="no container engine (make install brings podman)",
)
# The short race's images: the project's two and the stores it starts.
NEEDED = (
    *images.PROJECT,
    *[i for i in images.STORES if i.tag.split(":")[0].endswith(("redis", "postgres"))],
)


@pytest.mark.timeout(1500)
def test_the_images_build_and_the_small_stack_survives_its_kills() -> None:
    engine = containers.detect(ROOT)
    sizes = images.build_all(engine, ROOT, NEEDED, print)
    assert all(size > 0 for size in sizes.values())

    name = race_name()
    result = run_race(ROOT, short=True, clients=0, say=print, name=name)

    assert result.breaches == [], result.to_json()
    assert result.set_check.ok, result.to_json()
    assert len(set(result.killed)) == 2
    # Every coupon was told to a client and persisted; the edge answered sold-out itself.
    assert result.set_check.told == result.set_check.rows == result.plan.stock
    assert result.edge_answers > 0, result.to_json()
    leftover = Project.for_repo(ROOT, name=name)
    assert [leftover.leftovers(kind) for kind in ("ps -a", "volume ls", "network ls")] == [
        [],
        [],
        [],
    ]
