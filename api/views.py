"""Reply views as typed structs: what a handler answers is what the document says it answers.

A `View`'s fields are `Annotated` with their JSON Schema (api.openapi.schemas builders);
naming the class in a `Reply` publishes it under components/schemas by class name, every
field required, and `runtime.platform.json_output` writes it.
"""

from __future__ import annotations

import msgspec


class View(msgspec.Struct, kw_only=True):
    """A JSON object the API answers with; its docstring, if any, describes it."""
