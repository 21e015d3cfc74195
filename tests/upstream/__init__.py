"""A small OpenAI-compatible server with a deterministic interviewer model and failure modes."""

from tests.upstream.server import Upstream, create_app

__all__ = ["Upstream", "create_app"]
