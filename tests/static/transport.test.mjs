// The respondent page's stream (static/respondent/transport.js): WebSocket first, SSE as the
// fallback, resumed after the last event with fresh tickets. EventSource, WebSocket and the
// timers are small fakes: node has no browser (these are the browser APIs' contracts).
import assert from "node:assert/strict";
import { test } from "node:test";

import { FIRST_RECONNECT_MS, Stream, refreshAfter, streamUrls } from "../../static/respondent/transport.js";

class Clock {
  constructor() {
    this.now = 0;
    this.timers = new Map();
    this.next = 1;
  }
  setTimeout(fn, ms = 0) {
    const id = this.next++;
    this.timers.set(id, { at: this.now + ms, fn });
    return id;
  }
  clearTimeout(id) {
    this.timers.delete(id);
  }
  /** Runs every timer due within `ms`, in order. */
  async advance(ms) {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
      await settle();
    }
    this.now = until;
  }
  pending() {
    return [...this.timers.values()].map((t) => t.at - this.now).sort((a, b) => a - b);
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

class Listeners {
  constructor() {
    this.listeners = {};
  }
  addEventListener(type, fn) {
    (this.listeners[type] ||= []).push(fn);
  }
  emit(type, event = {}) {
    for (const fn of this.listeners[type] || []) fn(event);
  }
}

function fakeEventSource() {
  const opened = [];
  class EventSource extends Listeners {
    static CONNECTING = 0;
    static OPEN = 1;
    static CLOSED = 2;
    constructor(url) {
      super();
      this.url = url;
      this.readyState = EventSource.CONNECTING;
      opened.push(this);
    }
    open() {
      this.readyState = EventSource.OPEN;
      this.emit("open");
    }
    send(id, type, data) {
      this.emit(type, { lastEventId: id, data: typeof data === "string" ? data : JSON.stringify(data) });
    }
    fail(readyState) {
      this.readyState = readyState;
      this.emit("error");
    }
    close() {
      this.readyState = EventSource.CLOSED;
      this.closed = true;
    }
  }
  return { EventSource, opened };
}

function fakeWebSocket() {
  const opened = [];
  class WebSocket extends Listeners {
    static CONNECTING = 0;
    static OPEN = 1;
    static CLOSING = 2;
    static CLOSED = 3;
    constructor(url) {
      super();
      this.url = url;
      this.readyState = WebSocket.CONNECTING;
      opened.push(this);
    }
    open() {
      this.readyState = WebSocket.OPEN;
      this.emit("open");
    }
    frame(value) {
      const data = typeof value === "string" || value instanceof ArrayBuffer ? value : JSON.stringify(value);
      this.emit("message", { data });
    }
    send(data) {
      if (this.readyState !== WebSocket.OPEN) throw new Error("InvalidStateError");
      (this.sent ||= []).push(data);
    }
    drop(code = 1006) {
      this.readyState = WebSocket.CLOSED;
      this.emit("close", { code });
    }
    close(code) {
      this.closedWith = code;
      this.readyState = WebSocket.CLOSED;
    }
  }
  return { WebSocket, opened };
}

const ORIGIN = "https://rapport.example";
let ticketSeq = 0;
function links(ttl = 600) {
  ticketSeq += 1;
  return {
    events_url: `http://internal:8000/v1/sessions/ses_1/events?ticket=tk${ticketSeq}`,
    ws_url: `ws://internal:8000/v1/sessions/ses_1/ws?ticket=tk${ticketSeq}`,
    ticket_expires_in: ttl,
  };
}

/** A Stream with fakes, recording what it told the page; `tickets` answers in order. */
function harness({ socket = true, answers = [] } = {}) {
  const clock = new Clock();
  const sse = fakeEventSource();
  const ws = fakeWebSocket();
  const told = [];
  let lastId = "";
  const ticketCalls = [];
  const env = {
    EventSource: sse.EventSource,
    WebSocket: socket ? ws.WebSocket : undefined,
    setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
    clearTimeout: (id) => clock.clearTimeout(id),
    random: () => 0,
  };
  const stream = new Stream({
    apiOrigin: ORIGIN,
    env,
    lastEventId: () => lastId,
    tickets: async () => {
      ticketCalls.push(clock.now);
      const answer = answers.length ? answers.shift() : links();
      if (answer instanceof Error) throw answer;
      return answer;
    },
    on: {
      event: (e) => {
        told.push(["event", e.id, e.event, e.data]);
        lastId = e.id;
      },
      frame: (f) => told.push(["frame", f]),
      audio: (data) => told.push(["audio", data.byteLength]),
      open: () => told.push(["open"]),
      trouble: () => told.push(["trouble"]),
      dropped: () => told.push(["dropped"]),
      lost: () => told.push(["lost"]),
    },
  });
  return { stream, clock, sse, ws, told, ticketCalls };
}

const param = (url, name) => new URL(url).searchParams.get(name);

test("stream links move onto the API origin, with the scheme the origin implies", () => {
  const given = links();
  const urls = streamUrls(given, "https://rapport.example", "1700-3");
  const query = `ticket=tk${ticketSeq}&last_event_id=1700-3`;
  assert.equal(urls.sse, `https://rapport.example/v1/sessions/ses_1/events?${query}`);
  assert.equal(urls.ws, `wss://rapport.example/v1/sessions/ses_1/ws?${query}`);
  const plain = streamUrls({ events_url: "/v1/sessions/s/events?ticket=t" }, "http://127.0.0.1:8000", "");
  assert.deepEqual(plain, { sse: "http://127.0.0.1:8000/v1/sessions/s/events?ticket=t", ws: null });
});

test("ticket renewal comes well before expiry, never sooner than 5 s", () => {
  assert.equal(refreshAfter(600), 480);
  assert.equal(refreshAfter(60), 30);
  assert.equal(refreshAfter(1), 5);
  assert.equal(refreshAfter(undefined), 480);
});

test("the WebSocket is used when there is one; its event frames become events", async () => {
  const h = harness();
  h.stream.start(links());
  assert.equal(h.stream.kind, "websocket");
  assert.equal(h.sse.opened.length, 0);
  const socket = h.ws.opened[0];
  assert.equal(new URL(socket.url).origin.replace("wss:", "https:"), ORIGIN);
  assert.equal(param(socket.url, "last_event_id"), null, "the whole log at first");
  socket.open();
  socket.frame({ id: "1-0", event: "turn.started", data: { turn_id: "t1" } });
  socket.frame({ type: "pong" });
  socket.frame("not json");
  socket.frame({ id: "1-1", event: "turn.delta", data: { turn_id: "t1", text: "Hi" } });
  assert.deepEqual(h.told, [
    ["open"],
    ["event", "1-0", "turn.started", { turn_id: "t1" }],
    ["frame", { type: "pong" }],
    ["event", "1-1", "turn.delta", { turn_id: "t1", text: "Hi" }],
  ]);
  assert.deepEqual(h.clock.pending(), [], "a socket's ticket is checked once: no renewal");
});

test("voice over the socket: JSON and binary frames both ways, nothing sent when it is not open", () => {
  const h = harness();
  assert.equal(h.stream.send({ type: "voice.start" }), false, "no transport yet");
  h.stream.start(links());
  const socket = h.ws.opened[0];
  assert.equal(socket.binaryType, "arraybuffer", "the interviewer's audio as bytes");
  assert.equal(h.stream.send({ type: "voice.start" }), false, "still connecting");
  socket.open();
  const frame = new ArrayBuffer(640);
  assert.equal(h.stream.send({ type: "voice.start", talk: "open" }), true);
  assert.equal(h.stream.send(frame), true);
  assert.deepEqual(socket.sent, ['{"type":"voice.start","talk":"open"}', frame]);
  socket.frame({ type: "voice.ready", output: { sample_rate: 24000 } });
  socket.frame(new ArrayBuffer(4800));
  assert.deepEqual(h.told.slice(1), [
    ["frame", { type: "voice.ready", output: { sample_rate: 24000 } }],
    ["audio", 4800],
  ]);
  assert.equal(h.stream.wantSocket(), true, "already one");
  socket.drop(1006);
  assert.equal(h.stream.send({ type: "playback" }), false, "dropped: nothing goes out");
});

test("voice on a page that fell back to SSE tries a socket again, resuming after the last event", async () => {
  const h = harness();
  h.stream.start(links());
  h.ws.opened[0].drop(1006); // never connected: SSE
  h.sse.opened[0].open();
  h.sse.opened[0].send("3-0", "turn.started", { turn_id: "t1" });
  assert.equal(h.stream.send({ type: "voice.start" }), false, "SSE only listens");
  assert.equal(h.stream.wantSocket(), true);
  assert.ok(h.sse.opened[0].closed);
  await h.clock.advance(0);
  assert.equal(h.ticketCalls.length, 1, "a fresh ticket for the socket");
  assert.equal(h.stream.kind, "websocket");
  assert.equal(param(h.ws.opened[1].url, "last_event_id"), "3-0");
  const none = harness({ socket: false });
  none.stream.start(links());
  assert.equal(none.stream.wantSocket(), false, "no WebSocket in this browser");
});

test("a dropped WebSocket gets a fresh ticket and resumes after the last event, backing off", async () => {
  const h = harness();
  h.stream.start(links());
  h.ws.opened[0].open();
  h.ws.opened[0].frame({ id: "5-2", event: "turn.delta", data: { turn_id: "t1", text: "a" } });
  h.ws.opened[0].drop(1006);
  assert.deepEqual(h.told.slice(-2), [["dropped"], ["trouble"]]);
  await h.clock.advance(FIRST_RECONNECT_MS);
  assert.equal(h.ticketCalls.length, 1);
  const second = h.ws.opened[1];
  assert.equal(param(second.url, "last_event_id"), "5-2");
  assert.equal(param(second.url, "ticket"), `tk${ticketSeq}`, "the fresh ticket");
  // It fails again before opening: the next try waits four times as long.
  second.drop(1006);
  await h.clock.advance(FIRST_RECONNECT_MS * 4 - 1);
  assert.equal(h.ws.opened.length, 2);
  await h.clock.advance(1);
  assert.equal(h.ws.opened.length, 3, "still a WebSocket: it worked once on this page");
  h.ws.opened[2].open(); // connected: the back-off starts over
  h.ws.opened[2].drop(1013);
  await h.clock.advance(FIRST_RECONNECT_MS);
  assert.equal(h.ws.opened.length, 4);
  assert.equal(h.sse.opened.length, 0);
});

test("a WebSocket that never connects on this page: SSE from then on", async () => {
  const h = harness();
  const first = links();
  h.stream.start(first);
  h.ws.opened[0].drop(1006); // no open: a proxy without upgrades, say
  assert.equal(h.stream.kind, "sse");
  assert.equal(h.sse.opened.length, 1);
  assert.equal(param(h.sse.opened[0].url, "ticket"), param(first.events_url, "ticket"));
  assert.equal(h.ticketCalls.length, 0, "the same links, still fresh");
  assert.ok(!h.told.some(([what]) => what === "dropped"));
  // Later drops stay on SSE.
  h.sse.opened[0].fail(2);
  await h.clock.advance(FIRST_RECONNECT_MS);
  assert.equal(h.stream.kind, "sse");
  assert.equal(h.ws.opened.length, 1);
});

test("a WebSocket the constructor refuses (a policy) falls back to SSE too", async () => {
  const h = harness();
  h.stream.env.WebSocket = class {
    constructor() {
      throw new Error("SecurityError");
    }
  };
  h.stream.start(links());
  await h.clock.advance(0);
  assert.equal(h.stream.kind, "sse");
});

test("without WebSocket, SSE: browser retries are trouble, a closed source reconnects", async () => {
  const h = harness({ socket: false });
  h.stream.start(links(60));
  assert.equal(h.stream.kind, "sse");
  const source = h.sse.opened[0];
  assert.equal(new URL(source.url).origin, ORIGIN);
  source.open();
  source.send("7-0", "turn.started", { turn_id: "t1" });
  source.send("7-1", "turn.delta", "{broken");
  source.fail(0); // CONNECTING: the browser retries with Last-Event-ID by itself
  assert.deepEqual(h.told, [["open"], ["event", "7-0", "turn.started", { turn_id: "t1" }], ["trouble"]]);
  assert.equal(h.sse.opened.length, 1);
  source.fail(2); // CLOSED: it gave up (401 on an expired ticket)
  await h.clock.advance(FIRST_RECONNECT_MS);
  assert.equal(h.sse.opened.length, 2);
  assert.equal(param(h.sse.opened[1].url, "last_event_id"), "7-0");
  assert.equal(h.ticketCalls.length, 1);
});

test("SSE renews its ticket before it expires, since the browser's retries reuse the URL", async () => {
  const h = harness({ socket: false });
  h.stream.start(links(60));
  h.sse.opened[0].open();
  await h.clock.advance(29_999);
  assert.equal(h.sse.opened.length, 1);
  await h.clock.advance(1);
  assert.equal(h.ticketCalls.length, 1);
  assert.equal(h.sse.opened.length, 2);
  assert.equal(h.sse.opened[0].closed, true, "the old source is closed");
  // Events from the replaced source are ignored.
  h.sse.opened[0].send("9-0", "turn.started", { turn_id: "late" });
  assert.ok(!h.told.some((t) => t[1] === "9-0"));
});

test("a failed renewal while still streaming tries again in 30 s; otherwise reconnects", async () => {
  const h = harness({ socket: false, answers: [new Error("503")] });
  h.stream.start(links(60));
  h.sse.opened[0].open();
  await h.clock.advance(30_000);
  assert.equal(h.ticketCalls.length, 1);
  assert.equal(h.sse.opened.length, 1, "kept the open stream");
  await h.clock.advance(30_000);
  assert.equal(h.ticketCalls.length, 2);
  assert.equal(h.sse.opened.length, 2);
});

test("a session that is gone (tickets refused) is lost, and nothing reconnects", async () => {
  const h = harness({ answers: [null] });
  h.stream.start(links());
  h.ws.opened[0].open();
  h.ws.opened[0].drop(4401);
  await h.clock.advance(FIRST_RECONNECT_MS);
  assert.equal(h.told.at(-1)[0], "lost");
  assert.equal(h.stream.stopped, true);
  await h.clock.advance(60_000);
  assert.equal(h.ws.opened.length, 1);
});

test("stop closes the connection and cancels every timer; resume reopens only if idle", async () => {
  const h = harness({ socket: false });
  h.stream.start(links());
  h.stream.close();
  assert.equal(h.sse.opened[0].closed, true);
  h.stream.resume();
  await settle();
  assert.equal(h.sse.opened.length, 2);
  h.stream.resume(); // already connected
  await settle();
  assert.equal(h.sse.opened.length, 2);
  h.stream.stop();
  assert.deepEqual(h.clock.pending(), []);
  h.sse.opened[1].fail(2);
  h.stream.resume();
  await h.clock.advance(60_000);
  assert.equal(h.sse.opened.length, 2);
});

test("an ended session's log is read once: no reconnecting, no renewal", async () => {
  const h = harness({ socket: false });
  h.stream.start(links(60), { replayOnly: true });
  assert.deepEqual(h.clock.pending(), []);
  h.sse.opened[0].fail(2);
  assert.deepEqual(h.told, [["dropped"]]);
  await h.clock.advance(60_000);
  assert.equal(h.sse.opened.length, 1);
});

test("two streams share nothing", async () => {
  const a = harness();
  const b = harness({ socket: false });
  a.stream.start(links());
  b.stream.start(links());
  a.ws.opened[0].open();
  a.ws.opened[0].frame({ id: "1-0", event: "turn.started", data: { turn_id: "a" } });
  assert.equal(b.told.length, 0);
  assert.equal(a.stream.kind, "websocket");
  assert.equal(b.stream.kind, "sse");
});
