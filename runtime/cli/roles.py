"""Loads the roles api and workers declare (entry points, group `rapport.roles`), checked."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

from runtime.platform.errors import ConfigurationError
from runtime.roles import ApiRole, WorkerRole

GROUP = "rapport.roles"


def api() -> ApiRole:
    point = _entry_point("api")
    role: object = point.load()
    if not isinstance(role, ApiRole):
        raise _not_a(point, "ApiRole")
    return role


def worker() -> WorkerRole:
    point = _entry_point("worker")
    role: object = point.load()
    if not isinstance(role, WorkerRole):
        raise _not_a(point, "WorkerRole")
    return role


def _entry_point(name: str) -> EntryPoint:
    found = entry_points(group=GROUP, name=name)
    if not found:
        raise ConfigurationError(
            f"no {name!r} entry point in group {GROUP!r}: install Rapport (pip install -e .)"
        )
    (point,) = found
    return point


def _not_a(point: EntryPoint, protocol: str) -> ConfigurationError:
    return ConfigurationError(f"entry point {point.value} is not a runtime.roles.{protocol}")
