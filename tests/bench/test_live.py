"""bench.live in a short run: the feed and the respondent's stream timed for the same posts."""

from __future__ import annotations

import math

from bench.live import measure, render
from tests.conftest import Server


async def test_the_bench_times_each_post_on_the_stream_and_every_feed(
    server: Server, api_key: str
) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    figures = await measure(port, api_key, sessions=4, researchers=3, rounds=2, rate=50)
    text = render(figures)
    assert figures.failures == 0, text
    assert len(figures.own) == 4 * 2 and len(figures.feed) == 4 * 2 * 3, text
    assert all(0 < ms < 30_000 for ms in [*figures.own, *figures.feed]), text
    assert not math.isnan(figures.added_p99()), text
    assert "researchers' feeds" in text and "target <= 5 ms" in text, text
