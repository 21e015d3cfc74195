"""Bodies larger than a route accepts are never held in memory, whatever the route and method."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.processes import ServeProcess, serve_nodes

MIB = 1024 * 1024
HUGE = 300 * MIB
# Generous: the process may allocate a little for the requests themselves.
MARGIN = 30 * MIB


async def _zeros(total: int) -> AsyncIterator[bytes]:
    """`total` bytes in 1 MiB pieces, the same piece every time: never held by the test."""
    piece = bytes(MIB)
    for _ in range(total // MIB):
        yield piece


def peak_rss(node: ServeProcess) -> int:
    """The process's peak resident set (VmHWM), in bytes."""
    assert node.proc is not None
    for line in Path(f"/proc/{node.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


async def _send(http: httpx.AsyncClient, method: str, url: str, declared: bool) -> int | None:
    """Streams 300 MB at `url`; the status, or None if the server cut the upload short
    without answering (it may stop reading once it has refused)."""
    headers = {"idempotency-key": "big-1", "content-type": "application/json"}
    if declared:
        headers["content-length"] = str(HUGE)
    try:
        response = await http.request(method, url, content=_zeros(HUGE), headers=headers)
    except (httpx.RemoteProtocolError, httpx.WriteError, httpx.ReadError):
        return None
    return response.status_code


@pytest.mark.parametrize("declared", [False, True], ids=["chunked", "content-length"])
async def test_a_300_mb_body_leaves_peak_memory_unchanged(
    node_env: dict[str, str], tmp_path: Path, declared: bool
) -> None:
    # No in-process worker: jobs other tests left queued (PDFs load fonts) would move the peak.
    env = {**node_env, "RAPPORT_IN_PROCESS_WORKER": "0"}
    async with serve_nodes(env, tmp_path, 1) as (node,):
        async with httpx.AsyncClient(base_url=node.url, timeout=120) as http:
            assert (await http.get("/healthz")).status_code == 200
            before = peak_rss(node)
            seen = {
                # A method the audio route does not serve: refused before any body is read.
                "POST audio": await _send(http, "POST", "/v1/sessions/ses_x/audio", declared),
                "PATCH audio": await _send(http, "PATCH", "/v1/sessions/ses_x/audio", declared),
                # The upload itself, without a credential: refused before it is read.
                "PUT audio": await _send(http, "PUT", "/v1/sessions/ses_x/audio", declared),
                # A JSON route: never more than the JSON body limit.
                "POST json": await _send(http, "POST", "/v1/interviews", declared),
                "POST public": await _send(
                    http, "POST", "/v1/public/interviews/nope/sessions", declared
                ),
            }
            after = peak_rss(node)
    print(f"peak RSS {before / MIB:.0f} MiB -> {after / MIB:.0f} MiB; answers {seen}")
    assert seen["POST audio"] in (405, None) and seen["PATCH audio"] in (405, None)
    assert seen["PUT audio"] in (401, None)
    assert seen["POST json"] in (413, None) and seen["POST public"] in (413, None)
    assert after - before < MARGIN, f"peak RSS grew {(after - before) / MIB:.0f} MiB"
