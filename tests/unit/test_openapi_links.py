"""The description's links (D21): create -> retrieve -> cancel -> retrieve, as the contract
fuzzer's stateful run follows them (tests/contract)."""

from __future__ import annotations

from typing import Any

from xborder.api.openapi import openapi_document

DOCUMENT = openapi_document()


def operations() -> dict[str, dict[str, Any]]:
    return {
        operation["operationId"]: operation
        for item in DOCUMENT["paths"].values()
        for operation in item.values()
    }


def path_parameters(operation: dict[str, Any]) -> set[str]:
    names = set()
    for parameter in operation["parameters"]:
        if "$ref" in parameter:
            parameter = DOCUMENT["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        if parameter["in"] == "path":
            names.add(parameter["name"])
    return names


def links(operation_id: str) -> dict[str, str]:
    response = operations()[operation_id]["responses"]["200"]
    return {name: link["operationId"] for name, link in response.get("links", {}).items()}


def test_the_lifecycle_is_linked() -> None:
    assert links("createPayment") == {
        "Retrieve": "retrievePayment",
        "Cancel": "cancelPaymentPost",
        "CancelGet": "cancelPaymentGet",
    }
    assert set(links("retrievePayment").values()) == {"cancelPaymentPost", "cancelPaymentGet"}
    assert set(links("findPayment").values()) == {"cancelPaymentPost", "cancelPaymentGet"}
    for cancel in ("cancelPaymentPost", "cancelPaymentGet"):
        assert links(cancel)["Retrieve"] == "retrievePayment"


def test_every_link_fills_exactly_its_targets_path_parameters() -> None:
    found = operations()
    for source in found.values():
        for response in source["responses"].values():
            for link in response.get("links", {}).values():
                target = found[link["operationId"]]
                assert set(link["parameters"]) == path_parameters(target)
                for expression in link["parameters"].values():
                    assert expression in {
                        "$request.path.partner-id",
                        "$request.path.payment-id",
                        "$response.body#/payment/id",
                    }
