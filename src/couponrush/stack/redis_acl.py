"""Redis's users from deploy/redis/users.acl: the file the servers load (``aclfile``),
rendered with each password's SHA-256 in its place, and each process's login.

The template keeps one user per paragraph for reading (lines that start with a space
continue the user above, ``#`` starts a comment); Redis wants one line per user and no
comments. A ``>${NAME}`` there is the password in the variable NAME (compose.env, a
Secret); the rendered file holds only its hash (``#<hex>``), so the servers never see it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path

from couponrush.core.errors import StackError

TEMPLATE = Path("deploy") / "redis" / "users.acl"
# The user each process logs in as, and the variable holding its password.
USERS = {
    "app": "REDIS_APP_PASSWORD",
    "pipeline": "REDIS_PIPELINE_PASSWORD",
    "ops": "REDIS_OPS_PASSWORD",
    "replica": "REDIS_REPLICA_PASSWORD",
    "exporter": "REDIS_EXPORTER_PASSWORD",
    "admin": "REDIS_ADMIN_PASSWORD",
}
REPLICA = USERS["replica"]
_PASSWORD = re.compile(r">\$\{([A-Z0-9_]+)\}")
_MIN_LEN = 16


def render(template: str, passwords: Mapping[str, str]) -> str:
    """The ACL file: one line per user, each ``>${NAME}`` the hash of ``passwords[NAME]``."""
    users: list[str] = []
    for line in template.splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if line[0].isspace():
            if not users:
                raise StackError(f"users.acl: a continued line before any user: {line!r}")
            users[-1] += " " + text
        else:
            users.append(text)
    return "".join(_PASSWORD.sub(lambda m: _hashed(m.group(1), passwords), u) + "\n" for u in users)


def _hashed(name: str, passwords: Mapping[str, str]) -> str:
    return "#" + hashlib.sha256(_password(name, passwords).encode()).hexdigest()


def _password(name: str, passwords: Mapping[str, str]) -> str:
    if name not in passwords:
        raise StackError(
            f"{name} is missing: add it to the env file (compose.env.example "
            "names every variable; `couponrush compose env` fills a new file)"
        )
    value = passwords[name]
    if len(value) < _MIN_LEN or not value.isalnum():
        raise StackError(
            f"{name} must be a random password of at least {_MIN_LEN} letters and digits"
        )
    return value


def write(root: Path, passwords: Mapping[str, str], folder: Path) -> Path:
    """What the servers mount from ``folder``: ``users.acl`` (the repository's template,
    rendered) and ``auth.conf`` (the replicas' login to their primary, included by
    deploy/redis/cluster.conf). The servers' user (the image's uid) must read both, so
    the folder is open and its parent (deploy/secrets, a temporary folder) is the
    owner's alone."""
    folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.parent.chmod(0o700)
    folder.mkdir(exist_ok=True)
    folder.chmod(0o755)
    acl = render((root / TEMPLATE).read_text(), passwords)
    login = f"masterauth {_password(REPLICA, passwords)}\n"
    for name, text in (("users.acl", acl), ("auth.conf", login)):
        (folder / name).write_text(text)
        (folder / name).chmod(0o644)
    return folder / "users.acl"
