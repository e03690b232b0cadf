"""Each layer defines its error classes in one module, and ``xborder.errors`` draws the tree.

A newcomer looking for an error should find it in its layer's error module; a class defined
anywhere else, or a child of ``XborderError`` missing from the tree in ``xborder.errors``'s
docstring, fails here.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator

import xborder
import xborder.errors
from xborder.errors import XborderError

ERROR_MODULES = frozenset(
    {
        "xborder.errors",
        "xborder.domain.errors",
        "xborder.security.errors",
        "xborder.services.errors",
        "xborder.api.problems",
        "xborder.api.codecs.base",  # DecodeError: the codecs' own, caught by their callers
        "xborder.storage.errors",  # SavepointsNeeded: the writer's signal, never a client's
        "xborder.cli.errors",
        "xborder.client._errors",  # the public client's, kept apart from the server's code
    }
)
SAMPLES = frozenset({"xborder.api.openapi_errors.SystemFailure"})
"""Exception classes that are never raised: the OpenAPI description's stand-in for any
unexpected failure."""

TREE_LINE = re.compile(r"^    [│├└─ ]*?(\w+)(?: {2,}|$)", re.MULTILINE)


def _import_everything() -> None:
    for module in pkgutil.walk_packages(xborder.__path__, "xborder."):
        if ".migrations" not in module.name:  # Alembic scripts run on import
            importlib.import_module(module.name)


def _subclasses(cls: type[BaseException]) -> Iterator[type[BaseException]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_error_class_is_defined_in_its_layers_error_module() -> None:
    _import_everything()
    elsewhere = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in set(_subclasses(BaseException))
        if cls.__module__.startswith("xborder.")
        and cls.__module__ not in ERROR_MODULES
        and f"{cls.__module__}.{cls.__qualname__}" not in SAMPLES
    )
    assert not elsewhere, f"define these in their layer's error module: {elsewhere}"


def test_the_root_docstring_draws_every_child_of_the_root() -> None:
    _import_everything()
    drawn = set(TREE_LINE.findall(xborder.errors.__doc__ or ""))
    children = {cls.__name__ for cls in XborderError.__subclasses__()}
    assert children <= drawn, f"missing from the tree in xborder.errors: {children - drawn}"
    known = {cls.__name__ for cls in _subclasses(XborderError)} | {"XborderError"}
    assert drawn <= known, f"drawn in xborder.errors but not defined: {drawn - known}"
