"""The OpenAPI 3.1 document, assembled from what the API declares rather than kept by hand.

Request bodies are the `Body` declarations that the route modules validate with, published
under components/schemas by `Body.name`. Response schemas are declared once, in `components`,
from the runtime's view functions, with enums taken from the runtime's own constants; the live
events are read from the event dataclasses (`stream`). Each operation is one `Operation` row in
`operations`; `assembly` turns the rows into paths. The tests check that these rows and the
application's routes are the same set, and that real responses match the schemas.
"""

from api.openapi.assembly import document

__all__ = ["document"]
