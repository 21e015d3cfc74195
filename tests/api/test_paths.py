"""Path parameters are described by what they are, and an undescribed one fails its declaration."""

from __future__ import annotations

import pytest

from api import paths
from api.catalog import ENDPOINTS
from api.endpoints import Group, Reply


def test_an_id_is_described_by_the_collection_before_it() -> None:
    assert paths.described("/v1/exports/{id}") == (("id", "Export id"),)
    assert paths.described("/v1/interviews/{id}/questions/{item_id}") == (
        ("id", "Interview id"),
        ("item_id", paths.NAMED["item_id"]),
    )


def test_every_declared_endpoint_describes_each_path_parameter() -> None:
    described = {
        (e.operation.path, name): meaning
        for e in ENDPOINTS
        for name, meaning in e.operation.path_params
    }
    assert described[("/v1/exports/{id}", "id")] == "Export id"
    assert described[("/v1/interviews/{id}/sessions", "id")] == "Interview id"
    assert described[("/v1/sessions/{id}/transcript", "id")] == "Session id"
    assert described[("/v1/blobs/{key}", "key")] == paths.NAMED["key"]


@pytest.mark.parametrize("route", ["GET /v1/things/{id}", "GET /v1/interviews/{id}/{what}"])
def test_a_path_parameter_nobody_described_fails_the_declaration(route: str) -> None:
    with pytest.raises(ValueError, match=r"api/paths\.py"):
        Group("operations", "public")(route, "undescribed", "Undescribed", Reply(204, "No"))
