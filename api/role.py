"""The API as the `rapport serve` command loads it: entry point `api` of group rapport.roles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from api.app import create_app
from runtime.platform.settings import Settings
from runtime.roles import ApiRole, ASGIApp, StartHook


@dataclass(frozen=True)
class _Api:
    def app(self, settings: Settings, on_start: Sequence[StartHook]) -> ASGIApp:
        return create_app(settings, on_start)


role: ApiRole = _Api()
