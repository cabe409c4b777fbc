"""The SDK's own distribution (clients/python): its wheel holds the SDK, the API's schemas,
the Korean and English catalogues and the core modules they use, and asks for httpx and
pydantic only; installed into a fresh virtual environment that sees nothing else
(offline: the wheel built here, its requirements linked from this environment), it
imports nothing of the server, issues a coupon against real app workers and says the
answer in Korean."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.fixtures.app import AppServer

ROOT = Path(__file__).resolve().parents[2]
SERVER = (
    "fastapi",
    "starlette",
    "granian",
    "redis",
    "asyncpg",
    "alembic",
    "sqlalchemy",
    "supervisor",
    "uvloop",
    "typer",
    "structlog",
    "prometheus_client",
    "confluent_kafka",
)
SDK = sorted(p.name for p in (ROOT / "src" / "couponrush" / "client").glob("*.py"))
CORE = ("errors", "retry", "event", "ids", "coupon", "season", "tokens", "queue", "admission")
MODULES = {
    "couponrush/__init__.py",
    "couponrush/py.typed",
    "couponrush/web/__init__.py",
    "couponrush/web/schemas.py",
    "couponrush/web/season_schemas.py",
    "couponrush/web/queue_schemas.py",
    "couponrush/web/i18n.py",
    "couponrush/web/static/i18n/en.json",
    "couponrush/web/static/i18n/ko.json",
    "couponrush/core/__init__.py",
    *(f"couponrush/core/{m}.py" for m in CORE),
    *(f"couponrush/client/{name}" for name in SDK),
}
USE = """
import json, sys
from couponrush.client import Client, messages
url, token, event = sys.argv[1:]
with Client(url, admin_token=token) as sdk:
    sdk.create_event(event, 1, name="SDK alone")
    won, lost = sdk.issue(event, "alice"), sdk.issue(event, "bob")
    held = sdk.get_issuance(event, "alice")
server = sorted(m for m in sys.modules if m.split(".")[0] in {names})
print(json.dumps({{"won": won.result, "lost": lost.result, "code": held.coupon_code,
                  "told": won.coupon.coupon_code, "server": server,
                  "ko": lost.message("ko")}}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built by this environment's setuptools from a copy (links followed), offline."""
    work = tmp_path_factory.mktemp("sdk")
    source = work / "source"
    shutil.copytree(ROOT / "clients" / "python", source)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(work),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (found,) = work.glob("couponrush_client-*.whl")
    return found


def _requirements(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        text = archive.read(name).decode()
    return [
        Requirement(line.split(":", 1)[1])
        for line in text.splitlines()
        if line.startswith("Requires-Dist:")
    ]


def test_the_wheel_holds_the_sdk_alone_and_asks_for_httpx_and_pydantic(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        modules = {n for n in archive.namelist() if not n.split("/")[0].endswith(".dist-info")}
    assert modules == MODULES
    assert sorted(r.name for r in _requirements(wheel)) == ["httpx", "pydantic", "sniffio"]


def _closure(wanted: list[Requirement]) -> set[str]:
    """The distributions ``wanted`` needs, as installed here (markers of this Python)."""
    found: set[str] = set()
    todo = list(wanted)
    while todo:
        requirement = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = metadata.distribution(requirement.name).metadata["Name"]
        if name not in found:
            found.add(name)
            todo += [Requirement(r) for r in metadata.requires(name) or []]
    return found


def _link(names: set[str], into: Path) -> None:
    """Each distribution's top-level files and metadata linked into ``into``."""
    into.mkdir()
    for name in names:
        dist = metadata.distribution(name)
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            target = Path(str(dist.locate_file(top)))
            if target.exists() and not (into / top).exists():
                (into / top).symlink_to(target)


def test_installed_alone_it_imports_nothing_of_the_server_and_issues(
    wheel: Path, app_server: AppServer, event_id: str, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = str(venv / "bin" / "python")
    pip = [sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check"]
    install = subprocess.run(
        [*pip, "install", "-q", "--no-index", "--no-deps", str(wheel)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    (site,) = venv.glob("lib/python3*/site-packages")
    _link(_closure(_requirements(wheel)), tmp_path / "deps")
    (site / "requirements.pth").write_text(f"{tmp_path / 'deps'}\n")
    # Every requirement satisfied by what the environment sees, and nothing more there.
    checked = subprocess.run(
        [*pip, "check"], capture_output=True, text=True, timeout=60, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    script = USE.format(names=set(SERVER))
    done = subprocess.run(
        [python, "-I", "-c", script, app_server.url, app_server.admin_token, event_id],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert (found["won"], found["lost"], found["server"]) == ("issued", "sold_out", [])
    assert found["code"] == found["told"]
    assert found["ko"] == "이 이벤트의 쿠폰이 모두 발급되었습니다."  # the catalogue came along
    probe = f"import importlib.util as u; print([m for m in {SERVER} if u.find_spec(m)])"
    visible = subprocess.run(
        [python, "-I", "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert visible.stdout.strip() == "[]", "server packages in the SDK's environment"
