"""The administration commands through click's CliRunner: projects, partners, keys, and the
first-run dev project. Keys are generated into temporary directories."""

from __future__ import annotations

import hashlib
import re
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

from tests.e2e.security.psd2 import ec_key_pair
from tests.signing import Party, make_party
from xborder.cli import main
from xborder.cli.commands._first_run import ensure_dev_project
from xborder.clock import SystemClock
from xborder.config import Settings
from xborder.security.keys import fingerprint, load_certificate, private_key_pem
from xborder.storage.engine import make_engine
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

COMMANDS = [
    ["projects", "add"],
    ["projects", "list"],
    ["projects", "update"],
    ["projects", "remove"],
    ["partners", "add"],
    ["partners", "list"],
    ["partners", "remove"],
    ["keys", "export-encryption-cert"],
    ["keys", "rotate"],
    ["keys", "retire"],
    ["keys", "list"],
]


@pytest.fixture(scope="module")
def party(tmp_path_factory: pytest.TempPathFactory) -> Party:
    return make_party(tmp_path_factory.mktemp("cli-keys"), "client")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


def run(data: Path, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--data-dir", str(data)], catch_exceptions=False)


def stored_certificates(data: Path) -> list[str]:
    engine = make_engine(f"sqlite:///{data / 'xborder.db'}")
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT signing_certificate, encryption_certificate FROM projects")
            )
            return [value for row in rows for value in row if value]
    finally:
        engine.dispose()


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "Example" in result.output


def test_top_level_help_lists_the_groups() -> None:
    output = CliRunner().invoke(main, ["--help"]).output
    assert all(group in output for group in ("projects", "partners", "keys"))


# --- projects and partners -------------------------------------------------------------------


def test_project_lifecycle(data: Path, party: Party) -> None:
    cert = str(party.cert_path)
    added = run(
        data,
        "projects",
        "add",
        "--consumer-key",
        "k!1",
        "--signing-cert",
        cert,
        "--encryption-cert",
        cert,
        "--environment",
        "mtf",
    )
    assert added.exit_code == 0, added.output
    assert party.kid in added.output and "(mtf)" in added.output
    assert run(data, "partners", "add", "--partner-id", "MTF_1", "--project", "k!1").exit_code == 0
    listed = run(data, "projects", "list").output
    assert "k!1" in listed and "mtf" in listed and "MTF_1" in listed
    assert "MTF_1  k!1" in run(data, "partners", "list").output
    refused = run(data, "projects", "remove", "k!1")
    assert refused.exit_code == 1 and "partner" in refused.output
    forced = run(data, "projects", "remove", "k!1", "--force")
    assert forced.exit_code == 0 and "MTF_1" in forced.output
    assert run(data, "projects", "list").output.strip() == "no projects"


def test_duplicate_and_missing_projects_exit_1(data: Path, party: Party) -> None:
    args = ["projects", "add", "--consumer-key", "k", "--signing-cert", str(party.cert_path)]
    assert run(data, *args).exit_code == 0
    again = run(data, *args)
    assert again.exit_code == 1 and "exists" in again.output
    assert run(data, "projects", "remove", "nobody").exit_code == 1
    assert run(data, "partners", "add", "--partner-id", "P", "--project", "nobody").exit_code == 1
    assert run(data, "partners", "remove", "P").exit_code == 1


def project_block(listing: str, consumer_key: str) -> list[str]:
    """The lines ``projects list`` prints for one project."""
    lines = listing.splitlines()
    start = lines.index(consumer_key) + 1
    block = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        block.append(line)
    return block


def test_encryption_policy_and_region(data: Path, party: Party) -> None:
    """D20, D23: set when added, changed by update, shown by add, update and list."""
    cert = str(party.cert_path)
    args = ["projects", "add", "--consumer-key", "enc!1", "--signing-cert", cert]
    policy = ["--encryption-cert", cert, "--encryption", "required", "--region", "eu"]
    added = run(data, *args, *policy)
    assert added.exit_code == 0, added.output
    assert "  encryption:        required\n  region:            eu\n" in added.output
    plain = run(data, "projects", "add", "--consumer-key", "plain!1", "--signing-cert", cert)
    assert plain.exit_code == 0 and "  encryption:        optional\n" in plain.output
    listed = run(data, "projects", "list").output
    assert [line.split(":")[0].strip() for line in project_block(listed, "enc!1")] == [
        "environment",
        "signing key id",
        "encryption kid",
        "encryption",
        "region",
        "partners",
        "created",
    ]
    assert "  encryption:      required" in project_block(listed, "enc!1")
    assert "  region:          eu" in project_block(listed, "enc!1")
    assert "  encryption:      optional" in project_block(listed, "plain!1")
    assert "  region:          global" in project_block(listed, "plain!1")
    updated = run(data, "projects", "update", "enc!1", "--encryption", "optional")
    assert updated.exit_code == 0, updated.output
    assert "encryption:        optional\n  region:            eu\n" in updated.output
    assert run(data, "projects", "update", "enc!1", "--region", "uk").exit_code == 0
    block = project_block(run(data, "projects", "list").output, "enc!1")
    assert "  encryption:      optional" in block and "  region:          uk" in block


def test_required_encryption_needs_an_encryption_certificate(data: Path, party: Party) -> None:
    cert = str(party.cert_path)
    args = ["projects", "add", "--consumer-key", "k", "--signing-cert", cert]
    refused = run(data, *args, "--encryption", "required")
    assert refused.exit_code == 2 and "client-encryption certificate" in refused.output
    assert run(data, "projects", "list").output.strip() == "no projects"
    assert run(data, *args).exit_code == 0
    refused = run(data, "projects", "update", "k", "--encryption", "required")
    assert refused.exit_code == 2 and "client-encryption certificate" in refused.output
    assert "  encryption:      optional" in project_block(run(data, "projects", "list").output, "k")


def test_update_refusals(data: Path, party: Party) -> None:
    missing = run(data, "projects", "update", "nobody", "--region", "eu")
    assert missing.exit_code == 1 and "no project nobody" in missing.output
    run(data, "projects", "add", "--consumer-key", "k", "--signing-cert", str(party.cert_path))
    nothing = run(data, "projects", "update", "k")
    assert nothing.exit_code == 2 and "--encryption" in nothing.output
    assert run(data, "projects", "update", "k", "--encryption", "always").exit_code == 2
    assert run(data, "projects", "update", "k", "--region", "us").exit_code == 2


def test_bad_input_exits_2(data: Path, party: Party, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    cert = str(party.cert_path)
    assert (
        run(data, "projects", "add", "--consumer-key", "k", "--signing-cert", str(junk)).exit_code
        == 2
    )
    assert (
        run(data, "projects", "add", "--consumer-key", "a b", "--signing-cert", cert).exit_code == 2
    )
    assert (
        run(
            data,
            "projects",
            "add",
            "--consumer-key",
            "k",
            "--signing-cert",
            cert,
            "--environment",
            "staging",
        ).exit_code
        == 2
    )
    run(data, "projects", "add", "--consumer-key", "k", "--signing-cert", cert)
    bad_partner = run(data, "partners", "add", "--partner-id", "has space", "--project", "k")
    assert bad_partner.exit_code == 2


def test_pkcs12_keystore_gives_only_its_certificate(
    data: Path, party: Party, tmp_path: Path
) -> None:
    keystore = tmp_path / "client.p12"
    keystore.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"keyalias", party.key, party.cert, None, BestAvailableEncryption(b"keystorepassword")
        )
    )
    args = ["projects", "add", "--consumer-key", "p12", "--signing-cert", str(keystore)]
    wrong = run(data, *args, "--signing-cert-password", "wrong")
    assert wrong.exit_code == 2 and "password" in wrong.output
    assert run(data, *args, "--signing-cert-password", "keystorepassword").exit_code == 0
    [stored] = stored_certificates(data)
    assert fingerprint(load_certificate(stored.encode())) == party.kid
    assert "PRIVATE" not in stored


def test_pem_with_a_private_key_stores_the_certificate_only(
    data: Path, party: Party, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(party.cert_path.read_bytes() + private_key_pem(party.key))
    result = run(data, "projects", "add", "--consumer-key", "k", "--signing-cert", str(bundle))
    assert result.exit_code == 0 and "only its certificate is stored" in result.output
    assert all("PRIVATE" not in pem for pem in stored_certificates(data))


def test_an_ec_p256_certificate_registers_an_eu_or_uk_project_only(
    data: Path, tmp_path: Path
) -> None:
    """D23: ES256 request tokens; a global project signs with OAuth 1.0a, RSA only."""
    pair = ec_key_pair("cli ec")
    cert = tmp_path / "ec-cert.pem"
    cert.write_text(pair.cert_pem)
    keystore = tmp_path / "ec.p12"
    keystore.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"ec",
            serialization.load_pem_private_key(pair.key_pem.encode(), None),  # type: ignore[arg-type]
            x509.load_pem_x509_certificate(pair.cert_pem.encode()),
            None,
            BestAvailableEncryption(b"keystorepassword"),
        )
    )
    add = ["projects", "add", "--signing-cert"]
    refused = run(data, *add, str(cert), "--consumer-key", "global-ec")
    assert refused.exit_code == 2 and "RSA" in refused.output
    added = run(data, *add, str(cert), "--consumer-key", "uk-ec", "--region", "uk")
    assert added.exit_code == 0, added.output
    certificate = x509.load_pem_x509_certificate(pair.cert_pem.encode())
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert f"signing key id:    {hashlib.sha256(spki).hexdigest()}" in added.output
    from_keystore = run(data, *add, str(keystore), "--signing-cert-password", "keystorepassword",
                        "--consumer-key", "eu-ec", "--region", "eu")  # fmt: skip
    assert from_keystore.exit_code == 0, from_keystore.output
    assert run(data, "projects", "update", "uk-ec", "--region", "global").exit_code == 2
    assert "  region:          uk" in project_block(run(data, "projects", "list").output, "uk-ec")


# --- keys ------------------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_export_rotate_retire(data: Path) -> None:
    exported = CliRunner().invoke(main, ["keys", "export-encryption-cert", "--data-dir", str(data)])
    assert exported.exit_code == 0
    first = fingerprint(load_certificate(exported.stdout.encode()))
    assert exported.stdout.startswith("-----BEGIN CERTIFICATE-----")
    assert f"SHA-256 fingerprint (kid): {first}" in exported.stderr
    key_files = list((data / "keys").glob("*.key.pem"))
    assert [mode(p) for p in key_files] == [0o600] and mode(data / "keys") == 0o700

    rotated = run(data, "keys", "rotate")
    second = re.search(r"new primary key ([0-9a-f]{64})", rotated.output)
    assert rotated.exit_code == 0 and second is not None
    listing = run(data, "keys", "list").output
    assert f"{second[1]}  primary" in listing and f"{first}  active" in listing
    assert (
        fingerprint(load_certificate(run(data, "keys", "export-encryption-cert").stdout.encode()))
        == second[1]
    )
    assert all(mode(p) == 0o600 for p in (data / "keys").glob("*.key.pem"))

    assert run(data, "keys", "retire", second[1]).exit_code == 2  # the primary key
    assert run(data, "keys", "retire", first).exit_code == 0
    assert first not in run(data, "keys", "list").output
    assert run(data, "keys", "retire", first).exit_code == 2


def test_no_command_prints_a_private_key(data: Path, party: Party) -> None:
    outputs = [
        run(data, "keys", "export-encryption-cert"),
        run(data, "keys", "rotate"),
        run(data, "keys", "list"),
        run(data, "projects", "add", "--consumer-key", "k", "--signing-cert", str(party.cert_path)),
        run(data, "projects", "list"),
    ]
    assert all("PRIVATE KEY" not in result.output for result in outputs)


# --- first run -------------------------------------------------------------------------------


def test_dev_project_is_created_once_with_private_files(
    tmp_path: Path, database_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{database_path}")
    engine = make_engine(settings.effective_database_url)
    try:
        uow_factory = SqlAlchemyUowFactory(engine)
        dev = ensure_dev_project(settings, uow_factory, SystemClock())
        assert dev is not None
        assert ensure_dev_project(settings, uow_factory, SystemClock()) is None
    finally:
        engine.dispose()
    assert mode(settings.dev_dir) == 0o700
    assert mode(dev.path("signing-key.pem")) == mode(dev.path("encryption-key.pem")) == 0o600
    script = dev.path("sign_request.py").read_text()
    assert dev.consumer_key in script and str(dev.path("signing-key.pem")) in script
    assert "PRIVATE" not in script


def test_dev_project_can_be_switched_off(tmp_path: Path, database_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{database_path}", dev_project=False
    )
    engine = make_engine(settings.effective_database_url)
    try:
        assert ensure_dev_project(settings, SqlAlchemyUowFactory(engine), SystemClock()) is None
    finally:
        engine.dispose()
    assert not settings.dev_dir.exists()
