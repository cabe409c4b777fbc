"""deploy/compose.env: written once from its example with fresh secrets, and read back
(KEY=value lines, as compose reads an env file)."""

from __future__ import annotations

import secrets
from pathlib import Path

_SECRET_NAMES = ("_TOKEN", "_SECRET", "_PASSWORD")
_PUBLIC_KEY = "COUPONRUSH_JWT_PUBLIC_KEY"


def write_env(example: Path, target: Path, signing_key: Path) -> bool:
    """``target`` from ``example``, unless it exists (False then): every empty secret a
    fresh random one, and an empty public key the half of a development key pair whose
    private half goes to ``signing_key`` (to sign test tokens with). Owner-only."""
    if target.exists():
        return False
    lines = []
    for line in example.read_text().splitlines():
        name, eq, value = line.partition("=")
        if eq and not line.startswith("#") and not value:
            if name.endswith(_SECRET_NAMES):
                line = f"{name}={secrets.token_hex(32)}"
            elif name == _PUBLIC_KEY:
                line = f"{name}={_key_pair(signing_key)}"
        lines.append(line)
    _private(target, "\n".join(lines) + "\n")
    return True


def _key_pair(private: Path) -> str:
    """An ES256 pair: the private key's PEM to ``private``, the public one returned on
    one line (newlines as \\n, as the setting reads it)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    secret = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    _private(private, secret.decode())
    public = key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo)
    return public.decode().strip().replace("\n", "\\n")


def _private(path: Path, text: str) -> None:
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(text)


def read_env(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        name, eq, value = line.strip().partition("=")
        if eq and not name.startswith("#"):
            found[name.strip()] = value.strip()
    return found
