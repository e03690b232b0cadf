"""``xborder payments`` and ``xborder accounts`` through click's CliRunner: output, exit codes by
error family, profiles, flags and variables, and ``--help`` on every command."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from tests.client.balance_server import PARTNER as BALANCE_PARTNER
from tests.client.balance_server import BalanceServer
from tests.client.conftest import (
    BASE_URL,
    CONSUMER_KEY,
    KEYSTORE_PASSWORD,
    Invoke,
    Keys,
    invoker,
)
from tests.payloads import payment_request
from xborder.cli import main
from xborder.cli.commands._profiles import Connection, Injected, load_profile
from xborder.errors import ConfigError
from xborder.security import oauth1
from xborder.security.keys import load_certificate, rsa_public_key


def request_file(tmp_path: Path, reference: str, **fields: Any) -> Path:
    path = tmp_path / f"{reference}.json"
    document = {"paymentrequest": payment_request(reference, **fields)}
    path.write_text(json.dumps(document, indent=2))
    return path


def field(output: str, name: str) -> str:
    for line in output.splitlines():
        if line.startswith(name + " "):
            return line.split(maxsplit=1)[1]
    raise AssertionError(f"no {name} in {output!r}")


def test_create_get_find_cancel(run: Invoke, tmp_path: Path) -> None:
    created = run("payments", "create", str(request_file(tmp_path, "CLI-1")))
    assert created.exit_code == 0, created.output
    assert field(created.stdout, "status") == "PENDING"
    assert field(created.stdout, "payment_amount") == "100.00 USD"
    payment_id = field(created.stdout, "id")
    assert field(run("payments", "get", payment_id).stdout, "transaction_reference") == "CLI-1"
    assert field(run("payments", "find", "CLI-1").stdout, "id") == payment_id
    cancelled = run("payments", "cancel", "CLI-1")
    assert (cancelled.exit_code, cancelled.stdout) == (0, "cancelled CLI-1: SUCCESS\n")
    assert field(run("payments", "get", payment_id).stdout, "status") == "CANCELLED"


def test_raw_output_in_either_format(run: Invoke, tmp_path: Path) -> None:
    request = request_file(tmp_path, "CLI-RAW")
    xml = run("payments", "create", str(request), "--reference", "CLI-RAW-2", "--xml")
    assert xml.exit_code == 0 and xml.stdout.startswith("<?xml")
    assert "<transaction_reference>CLI-RAW-2</transaction_reference>" in xml.stdout
    found = json.loads(run("payments", "find", "CLI-RAW-2", "--json").stdout)
    assert found["payment"]["status"] == "PENDING"
    cancelled = run("payments", "cancel", "CLI-RAW-2", "--json")
    assert json.loads(cancelled.stdout) == {"cancelpayment": {"status": "SUCCESS"}}


def test_create_from_standard_input(run: Invoke) -> None:
    body = json.dumps(payment_request("CLI-STDIN"))
    result = run("payments", "create", "-", "--json", input=body)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["payment"]["transaction_reference"] == "CLI-STDIN"


# --- exit codes ---------------------------------------------------------------------------------


def test_exit_codes_of_the_server_errors(run: Invoke, tmp_path: Path) -> None:
    run("payments", "create", str(request_file(tmp_path, "09CLI-DONE")))
    declined = run("payments", "cancel", "09CLI-DONE")
    assert declined.exit_code == 4
    assert declined.stderr.startswith("error: DeclinedError: 402 DECLINE 130111")
    assert "[RequestId " in declined.stderr
    assert run("payments", "get", "rem_unknown").exit_code == 5
    run("payments", "create", str(request_file(tmp_path, "CLI-C1")))
    other = request_file(tmp_path, "CLI-C1", purpose_of_payment="Education")
    assert run("payments", "create", str(other)).exit_code == 6
    invalid = request_file(tmp_path, "CLI-BAD", payment_type="XYZ")
    assert run("payments", "create", str(invalid)).exit_code == 3
    failing = request_file(tmp_path, "2CLI150001")
    assert run("payments", "create", str(failing), "--retries", "0").exit_code == 8


def test_raw_output_of_an_error_is_its_errors_body(run: Invoke) -> None:
    result = run("payments", "get", "rem_unknown", "--xml")
    assert result.exit_code == 5
    assert result.stdout.startswith("<?xml") and "<ReasonCode>RESOURCE_UNKNOWN" in result.stdout


def failing_transport(answer: Callable[[httpx.Request], httpx.Response]) -> httpx.BaseTransport:
    return httpx.MockTransport(answer)


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def gateway(request: httpx.Request) -> httpx.Response:
    body = {"Errors": {"Error": [{"Source": "Gateway", "ReasonCode": "DECLINED"}]}}
    return httpx.Response(401, json=body)


def html(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, text="<html>proxy</html>", headers={"Content-Type": "text/html"})


@pytest.mark.parametrize(("answer", "code"), [(refuse, 9), (gateway, 7), (html, 10)])
def test_exit_codes_without_the_app(
    config_home: Path, answer: Callable[[httpx.Request], httpx.Response], code: int
) -> None:
    run = invoker(failing_transport(answer), config_home)
    result = run("payments", "find", "X", "--retries", "1")
    assert result.exit_code == code, result.output


@pytest.mark.parametrize(
    "args",
    [
        ("payments", "cancel"),
        ("payments", "cancel", "X", "--from", "x.txt"),
        ("payments", "get", "X", "--profile", "missing"),
        ("payments", "get", "X", "--consumer-key", "only-a-key"),
        ("payments", "get", "X", "--encrypt"),
    ],
)
def test_usage_and_configuration_errors_exit_2(run: Invoke, args: tuple[str, ...]) -> None:
    assert run(*args).exit_code == 2


def test_no_partner_id_exits_2(config_home: Path) -> None:
    result = CliRunner().invoke(
        main, ["payments", "get", "X"], env={"XDG_CONFIG_HOME": str(config_home)}
    )
    assert result.exit_code == 2 and "no partner id" in result.stderr


# --- profiles, variables and flags --------------------------------------------------------------


def write_config(path: Path, keys: Keys) -> None:
    path.write_text(
        f"""
default_profile = "local"

[profiles.local]
base_url = "{BASE_URL}"
partner_id = "PROFILE_PARTNER"

[profiles.signed]
base_url = "{BASE_URL}"
partner_id = "SIGNED_PARTNER"
consumer_key = "{CONSUMER_KEY}"
signing_key = "{keys.signing_p12.name}"
signing_key_password = "{KEYSTORE_PASSWORD}"
format = "xml"
timeout = 5
"""
    )


def recording() -> tuple[list[httpx.Request], httpx.BaseTransport]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"payment": {"id": "rem_x", "status": "PENDING"}})

    return seen, httpx.MockTransport(answer)


def test_settings_come_from_flags_then_variables_then_the_profile(
    keys: Keys, config_home: Path
) -> None:
    config = keys.directory / "profiles.toml"
    write_config(config, keys)
    seen, transport = recording()
    base = {"XDG_CONFIG_HOME": str(config_home), "XBORDER_CONFIG": str(config)}
    cases = [
        ([], {}, "PROFILE_PARTNER"),
        ([], {"XBORDER_PROFILE": "signed"}, "SIGNED_PARTNER"),
        ([], {"XBORDER_PARTNER_ID": "VARIABLE_PARTNER"}, "VARIABLE_PARTNER"),
        (["--partner-id", "FLAG_PARTNER"], {"XBORDER_PARTNER_ID": "VARIABLE"}, "FLAG_PARTNER"),
    ]
    for flags, env, partner in cases:
        result = CliRunner().invoke(
            main,
            ["payments", "get", "rem_x", *flags],
            env={**base, **env},
            obj=Injected(transport=transport),
        )
        assert result.exit_code == 0, result.output
        assert f"/partners/{partner}/" in seen[-1].url.path


def test_a_signed_profile_signs_with_its_keystore(keys: Keys, config_home: Path) -> None:
    config = keys.directory / "signed.toml"
    write_config(config, keys)
    seen, transport = recording()
    result = CliRunner().invoke(
        main,
        ["payments", "find", "A/B", "--config", str(config), "--profile", "signed"],
        env={"XDG_CONFIG_HOME": str(config_home)},
        obj=Injected(transport=transport),
    )
    assert result.exit_code == 0, result.output
    request = seen[-1]
    assert request.headers["Accept"] == "application/xml"
    public = rsa_public_key(load_certificate(keys.signing_cert.encode()))
    oauth1.verify(
        request.method,
        str(request.url),
        request.headers["Authorization"],
        b"",
        public_key_for=lambda _key: public,
        now=int(time.time()),
    )


def test_profile_files_are_checked(
    tmp_path: Path, config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    config = tmp_path / "profiles.toml"
    config.write_text('[profiles.x]\npartner_id = "P"\nsigning_kye = "typo.pem"\n')
    with pytest.raises(ConfigError, match="unknown key"):
        load_profile(config, "x")
    assert load_profile(None, None) == Connection()  # no file in the config home: nothing
    config.write_text('[profiles.x]\npartner_id = "P"\nsigning_key = "keys/k.pem"\n')
    assert load_profile(config, "x").signing_key == str((tmp_path / "keys" / "k.pem").resolve())
    config.write_text("not toml [")
    with pytest.raises(ConfigError, match="cannot read"):
        load_profile(config, None)


# --- accounts -----------------------------------------------------------------------------------


@pytest.fixture
def balance_run(config_home: Path) -> Invoke:
    invoke = invoker(httpx.MockTransport(BalanceServer()), config_home)
    return functools.partial(invoke, env={"XBORDER_PARTNER_ID": BALANCE_PARTNER})


def test_accounts_list_and_get(balance_run: Invoke) -> None:
    listed = balance_run("accounts", "list")
    assert listed.exit_code == 0, listed.output
    header, first, second = listed.stdout.splitlines()
    assert header.split()[:3] == ["ACCOUNT", "CURRENCY", "STATE"]
    assert first.split()[:4] == ["acct_ssq", "USD", "ACTIVE", "750.00"]
    assert second.split() == ["acct_eur", "EUR", "ACTIVE"]
    shown = balance_run(
        "accounts", "get", "acct_ssq", env={"XBORDER_PARTNER_ID": "BEL_MASEND5ged2"}
    )
    assert field(shown.stdout, "queued_balance") == "300.00 USD"
    raw = balance_run(
        "accounts", "get", "acct_ssq", "--json", env={"XBORDER_PARTNER_ID": "BEL_MASEND5ged2"}
    )
    assert json.loads(raw.stdout)["accountId"] == "acct_ssq"
    missing = balance_run("accounts", "get", "nope")
    assert missing.exit_code == 5


# --- help ---------------------------------------------------------------------------------------

COMMANDS = [
    ("payments",),
    ("payments", "create"),
    ("payments", "get"),
    ("payments", "find"),
    ("payments", "cancel"),
    ("accounts",),
    ("accounts", "list"),
    ("accounts", "get"),
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
