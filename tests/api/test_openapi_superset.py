"""The served OpenAPI document is the checked-in baseline or a superset of it.

`openapi_baseline.json` is the document as it was before endpoints were declared once; it is
never regenerated. Nothing it promises may go: no path, operation, parameter, request or
response media type or status, schema property or enum value. How a schema is spelled may
change (a `$ref` where there was an inline schema, `anyOf` where there was a type list), so
schemas are compared by what they admit, with every `$ref` resolved into components.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from api.catalog import ENDPOINTS
from api.openapi import document
from runtime.platform.settings import Settings

BASELINE = Path(__file__).with_name("openapi_baseline.json")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class Diff:
    """Walks the baseline and the current document side by side, listing what went missing."""

    def __init__(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.old, self.new = old, new
        self.missing: list[str] = []
        self._seen: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()

    def lack(self, where: str, what: str) -> None:
        self.missing.append(f"{where}: {what} is gone")

    def deref(self, doc: dict[str, Any], node: Any) -> Any:
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            target: Any = doc
            for token in node["$ref"].removeprefix("#/").split("/"):
                target = target[token.replace("~1", "/").replace("~0", "~")]
            # Sibling keywords beside $ref (3.1 allows them) add to the target.
            extra = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **extra} if extra else target
            seen += 1
            assert seen < 64, "a $ref chain that never ends"
        return node

    def branches(self, doc: dict[str, Any], schema: Any) -> list[dict[str, Any]]:
        """The schema and every allOf/anyOf/oneOf branch under it, resolved."""
        schema = self.deref(doc, schema)
        if not isinstance(schema, dict):
            return []
        out = [schema]
        for key in ("allOf", "anyOf", "oneOf"):
            for branch in schema.get(key, []):
                out += self.branches(doc, branch)
        return out

    def facets(self, doc: dict[str, Any], schemas: list[Any]) -> dict[str, Any]:
        """What schemas promise together, however spelled: types, enum values, properties, items.

        A property's schemas from every branch are kept together, so a `oneOf` of frames each
        with its own `const` type still offers every type.
        """
        types: set[str] = set()
        enum: list[Any] | None = None
        properties: dict[str, list[Any]] = {}
        items: list[Any] = []
        additional: list[Any] = []
        for branch in (b for schema in schemas for b in self.branches(doc, schema)):
            kind = branch.get("type")
            types |= {kind} if isinstance(kind, str) else set(kind or ())
            values = branch["enum"] if "enum" in branch else None
            if "const" in branch:
                values = [branch["const"]]
            if values is not None:
                enum = [*(enum or []), *values]
            for name, sub in branch.get("properties", {}).items():
                properties.setdefault(name, []).append(sub)
            if "items" in branch:
                items.append(branch["items"])
            if isinstance(branch.get("additionalProperties"), dict):
                additional.append(branch["additionalProperties"])
        return {
            "types": types,
            "enum": enum,
            "properties": properties,
            "items": items,
            "additional": additional,
        }

    def schema(self, where: str, old: Any, new: Any) -> None:
        self.schemas(where, [old], [new])

    def schemas(self, where: str, old: list[Any], new: list[Any]) -> None:
        key = (
            tuple(id(self.deref(self.old, s)) for s in old),
            tuple(id(self.deref(self.new, s)) for s in new),
        )
        if key in self._seen:
            return
        self._seen.add(key)
        was, now = self.facets(self.old, old), self.facets(self.new, new)
        if now["types"]:  # no type at all admits every type
            for kind in sorted(was["types"] - now["types"]):
                self.lack(where, f"type {kind}")
        if was["enum"] is not None:
            if now["enum"] is None:
                self.lack(where, "the enum")
            else:
                for value in was["enum"]:
                    if value not in now["enum"]:
                        self.lack(where, f"enum value {value!r}")
        for name, subs in was["properties"].items():
            if name not in now["properties"]:
                self.lack(where, f"property {name}")
            else:
                self.schemas(f"{where}.{name}", subs, now["properties"][name])
        if was["items"]:
            if not now["items"]:
                self.lack(where, "items")
            else:
                self.schemas(f"{where}[]", was["items"], now["items"])
        if was["additional"] and now["additional"]:
            self.schemas(f"{where}{{}}", was["additional"], now["additional"])

    def content(self, where: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        for media, body in old.get("content", {}).items():
            if media not in new.get("content", {}):
                self.lack(where, f"media type {media}")
            elif "schema" in body:
                self.schema(f"{where} {media}", body["schema"], new["content"][media].get("schema"))

    def parameters(self, doc: dict[str, Any], listed: list[Any]) -> dict[tuple[str, str], Any]:
        out = {}
        for param in listed:
            param = self.deref(doc, param)
            out[(param["in"], param["name"])] = param
        return out

    def operation(self, where: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        now = self.parameters(self.new, new.get("parameters", []))
        for key, param in self.parameters(self.old, old.get("parameters", [])).items():
            if key not in now:
                self.lack(where, f"parameter {key[1]} in {key[0]}")
            else:
                self.schema(f"{where} ({key[1]})", param["schema"], now[key].get("schema"))
        if "requestBody" in old:
            if "requestBody" not in new:
                self.lack(where, "the request body")
            else:
                self.content(
                    f"{where} body",
                    self.deref(self.old, old["requestBody"]),
                    self.deref(self.new, new["requestBody"]),
                )
        for status, reply in old.get("responses", {}).items():
            if status not in new.get("responses", {}):
                self.lack(where, f"response {status}")
                continue
            self.content(
                f"{where} {status}",
                self.deref(self.old, reply),
                self.deref(self.new, new["responses"][status]),
            )

    def run(self) -> list[str]:
        for path, item in self.old["paths"].items():
            if path not in self.new["paths"]:
                self.lack("paths", path)
                continue
            for method in METHODS:
                if method not in item:
                    continue
                if method not in self.new["paths"][path]:
                    self.lack(path, f"operation {method.upper()}")
                    continue
                self.operation(
                    f"{method.upper()} {path}", item[method], self.new["paths"][path][method]
                )
        # Components are published for readers (and the stream's event frames live only
        # there): a schema that went must still be somewhere, under its name.
        for name, schema in self.old["components"]["schemas"].items():
            now = self.new["components"]["schemas"]
            if name not in now:
                self.lack("components/schemas", name)
            else:
                self.schema(f"#/components/schemas/{name}", schema, now[name])
        return self.missing


@pytest.fixture(scope="module")
def baseline() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(BASELINE.read_text())
    return loaded


def served() -> dict[str, Any]:
    return document(Settings(), "http://127.0.0.1:8000", ENDPOINTS)


def test_the_document_keeps_everything_the_baseline_had(baseline: dict[str, Any]) -> None:
    missing = Diff(baseline, served()).run()
    assert missing == [], "\n".join(missing)


def test_the_diff_sees_a_removed_property_enum_value_and_operation(
    baseline: dict[str, Any],
) -> None:
    """The walker would fail a real removal: shown on copies of the document with one gone."""
    new = copy.deepcopy(served())  # the served document is cached: never edit it in place
    del new["components"]["schemas"]["Interview"]["properties"]["share_url"]
    new["components"]["parameters"]["InterviewStatus"]["schema"]["enum"].remove("paused")
    del new["paths"]["/v1/webhooks/{id}/test"]["post"]
    missing = Diff(baseline, new).run()
    assert "GET /v1/interviews 200 application/json.items[]: property share_url is gone" in missing
    assert "GET /v1/interviews (status): enum value 'paused' is gone" in missing
    assert "/v1/webhooks/{id}/test: operation POST is gone" in missing
