"""The database a command works on: found, created only when the command may, and said so."""

from __future__ import annotations

import sys

from runtime.deployment import instances
from runtime.platform.errors import ConfigurationError
from runtime.platform.settings import Settings
from runtime.stores import migrate


def prepare(settings: Settings, *, create: bool, name_servers: bool = True) -> None:
    """Migrate the database to head. A SQLite file that does not exist yet is created (and
    said so on stderr) only if `create`; otherwise it is an error. Servers running here on
    another database are named, so that a key is not made where no server looks."""
    path = instances.sqlite_path(settings)
    new = path is not None and not path.exists()
    if new and not create:
        raise ConfigurationError(f"no database at {path}{_servers_hint(settings)}")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.database_url)
    if new:
        print(f"rapport: created a new database at {path}", file=sys.stderr)
    if name_servers:
        for line in _other_servers(settings):
            print(f"rapport: {line}", file=sys.stderr)


def _other_servers(settings: Settings) -> list[str]:
    running = instances.running(settings)
    if not running or any(s.database == instances.database_of(settings) for s in running):
        return []
    return [f"this database is not the one {server}: {_how_to_reach(server)}" for server in running]


def _how_to_reach(server: instances.Instance) -> str:
    if server.database.startswith(server.data_dir + "/"):
        return f"run this command with --data-dir {server.data_dir} (or RAPPORT_DATA_DIR)"
    return "run this command with the DATABASE_URL that server has"


def _servers_hint(settings: Settings) -> str:
    lines = _other_servers(settings)
    where = f" ({settings.data_dir.resolve()} holds none)"
    if not lines:
        return f"{where}: give the server's --data-dir (or RAPPORT_DATA_DIR, or DATABASE_URL)"
    return where + "; " + "; ".join(lines)
