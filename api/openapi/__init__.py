"""The OpenAPI 3.1 document, assembled from what the API declares rather than kept by hand.

Operations are the endpoints' own declarations (api.endpoints, listed by api.catalog), passed
to `document`; request bodies are the `Fields` structs they validate with, published under
components/schemas by class name. Response schemas are declared once, in `components`, from
the runtime's view functions, with enums taken from the runtime's own constants; the live
events are read from the event dataclasses (`stream`). The tests check that the declarations
and the application's routes are the same set, and that real responses match the schemas.
"""

from api.openapi.assembly import document

__all__ = ["document"]
