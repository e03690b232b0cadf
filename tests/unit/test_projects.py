"""D13 as a pure rule: which project may call for which partner, and consumer key syntax."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from xborder.domain.projects import (
    Environment,
    Project,
    is_entitled,
    is_valid_consumer_key,
    reaches_sandbox,
)

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def project(key: str, environment: Environment) -> Project:
    return Project(key, environment, "cert", None, NOW)


SANDBOX = project("s", Environment.SANDBOX)
SANDBOX2 = project("s2", Environment.SANDBOX)
MTF = project("m", Environment.MTF)
MTF2 = project("m2", Environment.MTF)
PROD = project("p", Environment.PRODUCTION)

# (caller, project the partner is bound to or None, entitled)
MATRIX = [
    (SANDBOX, None, True),
    (SANDBOX, SANDBOX, True),
    (SANDBOX, SANDBOX2, True),
    (SANDBOX, MTF, False),
    (SANDBOX, PROD, False),
    (MTF, None, False),
    (MTF, SANDBOX, False),
    (MTF, MTF, True),
    (MTF, MTF2, False),
    (MTF, PROD, False),
    (PROD, None, False),
    (PROD, PROD, True),
    (PROD, MTF, False),
]


@pytest.mark.parametrize(("caller", "bound_to", "entitled"), MATRIX)
def test_entitlement_matrix(caller: Project, bound_to: Project | None, entitled: bool) -> None:
    assert is_entitled(caller, bound_to) is entitled


@pytest.mark.parametrize(
    ("bound_to", "sandbox"), [(None, True), (SANDBOX, True), (MTF, False), (PROD, False)]
)
def test_unsigned_reach(bound_to: Project | None, sandbox: bool) -> None:
    assert reaches_sandbox(bound_to) is sandbox


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("Zq3uLm0Ck_exAmPle-Key!a1b2c3d4e5f6a7b8c9d0", True),
        ("a", True),
        ("x" * 200, True),
        ("~!#$&'()*+./:;<=>?@[]^_`{|}", True),
        ("", False),
        ("x" * 201, False),
        ("with space", False),
        ('quo"te', False),
        ("com,ma", False),
        ("per%cent", False),
        ("back\\slash", False),
        ("tab\t", False),
        ("é", False),
    ],
)
def test_consumer_key_syntax(key: str, valid: bool) -> None:
    assert is_valid_consumer_key(key) is valid
