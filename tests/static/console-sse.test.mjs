// The console's SSE reader (static/console/sse.js): the event-stream parser in any chunking,
// and the fetch()-based stream that resumes after its last event id. fetch and the timers are
// small fakes: node's own fetch would need a server, and the contract is the browser's.
import assert from "node:assert/strict";
import { test } from "node:test";

import { DEFAULT_RETRY_MS, EventFeed, SseParser } from "../../static/console/sse.js";

const STREAM = "id: 1-0\nevent: turn.delta\ndata: {\"text\":\"Hi\"}\n\n: ping\n\nid: 1-1\nevent: turn.completed\ndata: {\"a\":1}\n\n";

function parseAll(chunks) {
  const parser = new SseParser();
  return chunks.flatMap((chunk) => parser.push(chunk));
}

test("events come whole whatever the chunk boundaries", () => {
  const whole = parseAll([STREAM]);
  assert.deepEqual(
    whole.map((e) => [e.id, e.event, e.data]),
    [
      ["1-0", "turn.delta", '{"text":"Hi"}'],
      ["1-1", "turn.completed", '{"a":1}'],
    ],
  );
  // Every split point, and one character at a time, give the same events.
  for (let at = 1; at < STREAM.length; at++) {
    assert.deepEqual(parseAll([STREAM.slice(0, at), STREAM.slice(at)]), whole, `split at ${at}`);
  }
  assert.deepEqual(parseAll([...STREAM]), whole);
});

test("CRLF, CR and LF all end lines, a CRLF split across chunks included", () => {
  const crlf = STREAM.replaceAll("\n", "\r\n");
  const cr = STREAM.replaceAll("\n", "\r");
  const expected = parseAll([STREAM]);
  assert.deepEqual(parseAll([crlf]), expected);
  assert.deepEqual(parseAll([cr]), expected);
  for (let at = 1; at < crlf.length; at++) {
    assert.deepEqual(parseAll([crlf.slice(0, at), crlf.slice(at)]), expected, `crlf split at ${at}`);
  }
});

test("multi-line data joins with newlines; comments, unknown fields and empty events are skipped", () => {
  const events = parseAll(["data: one\ndata:two\ndata\nfoo: bar\n\n: comment\n\nevent: x\n\n"]);
  assert.equal(events.length, 1);
  assert.equal(events[0].data, "one\ntwo\n");
  assert.equal(events[0].event, "message", "no event field: the default type");
});

test("the id persists across events, retry is a number, an id with NUL is ignored", () => {
  const events = parseAll(["id: 7-0\nretry: 2500\ndata: a\n\ndata: b\n\nid: bad\0id\ndata: c\n\nretry: soon\ndata: d\n\n"]);
  assert.deepEqual(events.map((e) => e.id), ["7-0", "7-0", "7-0", "7-0"]);
  assert.deepEqual(events.map((e) => e.retry), [2500, 2500, 2500, 2500]);
  assert.equal(parseAll(["id:\ndata: x\n\n"])[0].id, "", "an empty id resets it");
});

class Clock {
  constructor() {
    this.timers = [];
  }
  setTimeout(fn, ms) {
    this.timers.push({ fn, ms });
    return this.timers.length;
  }
  clearTimeout() {}
  async flush() {
    while (this.timers.length) this.timers.shift().fn();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A fetch whose responses are given in turn: text bodies (in pieces) or a status. */
function fakeFetch(replies) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, headers: init.headers });
    const reply = replies.shift();
    if (!reply) return new Promise(() => {}); // then nothing more: the stream stays open
    if (reply.status) {
      return { ok: false, status: reply.status, json: async () => ({ error: { message: reply.message || "no" } }) };
    }
    const encoder = new TextEncoder();
    const pieces = [...reply.body];
    return {
      ok: true,
      status: 200,
      body: {
        getReader: () => ({
          read: async () => (pieces.length ? { value: encoder.encode(pieces.shift()), done: false } : { value: undefined, done: true }),
        }),
      },
    };
  };
  return { fetch, calls };
}

async function settle() {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

test("a dropped stream resumes after the last event id, with the current ticket", async () => {
  const clock = new Clock();
  const { fetch, calls } = fakeFetch([
    { body: ["id: 1-0\nevent: a\ndata: {}\n\nid: 1-", "1\nevent: b\ndata: {}\n\n"] },
    { body: ["retry: 50\nid: 2-0\nevent: c\ndata: {}\n\n"] },
  ]);
  let ticket = "ct_first";
  const seen = [];
  const states = [];
  const feed = new EventFeed({
    url: "/v1/interviews/int_1/live",
    token: () => ticket,
    onEvent: (e) => seen.push(e.event),
    onState: (s) => states.push(s),
    fetch,
    setTimeout: clock.setTimeout.bind(clock),
    clearTimeout: clock.clearTimeout.bind(clock),
  });
  feed.start();
  await settle();
  assert.deepEqual(seen, ["a", "b"]);
  assert.equal(calls[0].headers.authorization, "Bearer ct_first");
  assert.equal(calls[0].headers["last-event-id"], undefined, "the first open starts at the beginning");
  assert.equal(clock.timers[0].ms, DEFAULT_RETRY_MS, "the body ended: reconnect after the retry time");
  ticket = "ct_renewed";
  await clock.flush();
  await settle();
  assert.deepEqual(seen, ["a", "b", "c"]);
  assert.equal(calls[1].headers["last-event-id"], "1-1");
  assert.equal(calls[1].headers.authorization, "Bearer ct_renewed");
  assert.deepEqual(states.slice(0, 3), ["open", "reconnecting", "open"]);
  assert.equal(feed.lastEventId, "2-0");
  feed.stop();
});

test("a final status stops the stream; the last event ends it; errors back off", async () => {
  const clock = new Clock();
  const refused = fakeFetch([{ status: 404, message: "no such feed" }]);
  const closed = [];
  const feed = new EventFeed({
    url: "/x",
    token: () => "ct_x",
    onEvent: () => {},
    onState: (s, detail) => closed.push([s, detail && detail.status]),
    fetch: refused.fetch,
    setTimeout: clock.setTimeout.bind(clock),
    clearTimeout: clock.clearTimeout.bind(clock),
  });
  assert.equal(await feed.start(), 404);
  assert.deepEqual(closed, [["closed", 404]]);
  assert.equal(clock.timers.length, 0, "nothing retried after a 404");

  const ending = fakeFetch([{ body: ["id: 1-0\nevent: session.completed\ndata: {}\n\n"] }]);
  const last = new EventFeed({
    url: "/y",
    token: () => "ct_x",
    onEvent: () => {},
    isLast: (e) => e.event === "session.completed",
    fetch: ending.fetch,
    setTimeout: clock.setTimeout.bind(clock),
    clearTimeout: clock.clearTimeout.bind(clock),
  });
  assert.equal(await last.start(), 200);
  assert.equal(ending.calls.length, 1, "no reconnect after the session ended");

  const flaky = fakeFetch([{ status: 503 }, { status: 503 }]);
  const backing = new EventFeed({
    url: "/z",
    token: () => "ct_x",
    onEvent: () => {},
    fetch: flaky.fetch,
    setTimeout: clock.setTimeout.bind(clock),
    clearTimeout: clock.clearTimeout.bind(clock),
  });
  backing.start();
  await settle();
  assert.equal(clock.timers.at(-1).ms, DEFAULT_RETRY_MS * 2);
  await clock.flush();
  await settle();
  assert.equal(clock.timers.at(-1).ms, DEFAULT_RETRY_MS * 4, "each failure in a row waits longer");
  backing.stop();
});
