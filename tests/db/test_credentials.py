"""The database's password and TLS as settings: a PostgreSQL of this module's own that
asks for a password (scram) and serves TLS with a certificate made here; asyncpg (the
runtime) and the migrations (`db upgrade`) both take the password from a file and honour
``sslmode``, verify-full included. Against the session's PostgreSQL, which has no TLS,
``require`` fails clearly instead of falling back to plain text."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import pwd
import secrets
import shutil
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from couponrush.db.repository import Repository
from couponrush.settings import Settings
from couponrush.stack import postgres
from couponrush.stack.procs import free_port
from tests.fixtures.postgres import PgServer
from tests.helpers import run_cli


@dataclass(frozen=True)
class SecureDb:
    server: PgServer
    password: str
    ca: Path

    @property
    def url(self) -> str:  # no password in it
        return self.server.url

    async def admin(self) -> asyncpg.Connection:
        """The server's own view, over its Unix socket (trusted there)."""
        return await asyncpg.connect(
            host=str(self.server.socket_dir),
            port=self.server.port,
            user="couponrush",
            database="postgres",
        )


@pytest.fixture(scope="module")
def secure_db() -> Iterator[SecureDb]:
    root = Path(tempfile.mkdtemp(prefix="couponrush-pgtls-"))
    root.chmod(0o755)
    server = PgServer(root / "data", root / "sock", free_port(), root / "pg.log")
    postgres.initdb(server.data_dir, fast=True)
    try:
        server.start()
        postgres.ensure_database(server.url)
        db = SecureDb(server, secrets.token_hex(16), _tls_files(server.data_dir, root))
        asyncio.run(_lock(db))
        yield db
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _tls_files(data: Path, root: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 in the data folder (owned by the server's
    user, key 0600, as PostgreSQL demands); its copy as the clients' CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    for file, body, mode in (("server.crt", pem, 0o644), ("server.key", private, 0o600)):
        (data / file).write_bytes(body)
        (data / file).chmod(mode)
        if os.geteuid() == 0:
            owner = pwd.getpwnam(postgres.SERVER_USER)
            os.chown(data / file, owner.pw_uid, owner.pw_gid)
    (root / "ca.crt").write_bytes(pem)
    return root / "ca.crt"


async def _lock(db: SecureDb) -> None:
    """Set the role's password, turn TLS on and ask for the password on TCP (scram)."""
    conn = await db.admin()
    try:
        await conn.execute(f"ALTER ROLE couponrush PASSWORD '{db.password}'")
        await conn.execute("ALTER SYSTEM SET ssl = on")
        hba = db.server.data_dir / "pg_hba.conf"
        hba.write_text(hba.read_text().replace("127.0.0.1/32 trust", "127.0.0.1/32 scram-sha-256"))
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


def _settings(db: SecureDb, secret_file: Path, **more: str) -> Settings:
    secret_file.write_text(db.password + "\n")  # as a mounted secret often ends
    return Settings(database_url=db.url, database_password_file=secret_file, **more)  # type: ignore[arg-type]


async def _ssl_in_use(db: SecureDb, settings: Settings) -> bool:
    """Log in through the runtime's pool; whether the server sees that session encrypted."""
    repo = await Repository.connect(
        settings.database_url, connect_args=settings.database_connect_args()
    )
    try:
        await repo.ping()
        admin = await db.admin()
        try:
            found = await admin.fetchval(_ENCRYPTED)
        finally:
            await admin.close()
    finally:
        await repo.close()
    return bool(found)


_ENCRYPTED = """SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
WHERE a.client_addr IS NOT NULL AND a.usename = 'couponrush'"""


@pytest.mark.parametrize(
    ("sslmode", "encrypted"), [("disable", False), ("prefer", True), ("require", True)]
)
async def test_the_runtime_logs_in_with_the_secret_and_honours_sslmode(
    secure_db: SecureDb, tmp_path: Path, sslmode: str, encrypted: bool
) -> None:
    settings = _settings(secure_db, tmp_path / "password", database_sslmode=sslmode)
    assert await _ssl_in_use(secure_db, settings) is encrypted


async def test_verify_full_checks_the_server_against_the_ca(
    secure_db: SecureDb, tmp_path: Path
) -> None:
    url = f"{secure_db.url}?sslrootcert={secure_db.ca}"
    settings = _settings(secure_db, tmp_path / "password", database_sslmode="verify-full")
    assert await _ssl_in_use(secure_db, settings.model_copy(update={"database_url": url}))
    other = tmp_path / "other-ca.crt"
    other.write_bytes(_tls_files(tmp_path, tmp_path).read_bytes())  # another CA entirely
    wrong = f"{secure_db.url}?sslrootcert={other}"
    with pytest.raises(ssl.SSLCertVerificationError):
        await _ssl_in_use(secure_db, settings.model_copy(update={"database_url": wrong}))


async def test_without_the_password_the_server_refuses(secure_db: SecureDb) -> None:
    with pytest.raises(asyncpg.InvalidPasswordError):
        await _ssl_in_use(secure_db, Settings(database_url=secure_db.url))


def test_migrations_take_the_password_file_and_sslmode(secure_db: SecureDb, tmp_path: Path) -> None:
    (tmp_path / "password").write_text(secure_db.password)
    env = {
        **os.environ,
        "COUPONRUSH_DATABASE_URL": secure_db.url,
        "COUPONRUSH_DATABASE_PASSWORD_FILE": str(tmp_path / "password"),
        "COUPONRUSH_DATABASE_SSLMODE": "require",
    }
    done = run_cli(["db", "upgrade"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    refused = run_cli(["db", "upgrade"], {**env, "COUPONRUSH_DATABASE_PASSWORD_FILE": ""})
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "password" in refused.stdout


def test_require_fails_clearly_where_the_server_has_no_tls(pg: PgServer) -> None:
    env = {
        **os.environ,
        "COUPONRUSH_DATABASE_URL": pg.url,
        "COUPONRUSH_DATABASE_SSLMODE": "require",
    }
    done = run_cli(["db", "upgrade"], env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "rejected SSL upgrade" in done.stdout, done.stdout
    assert (
        run_cli(["db", "upgrade"], {**env, "COUPONRUSH_DATABASE_SSLMODE": "prefer"}).returncode == 0
    )
