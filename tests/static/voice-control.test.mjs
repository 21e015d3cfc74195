// Voice mode run for one conversation (static/respondent/voice-control.js, voice-io.js): what
// goes out on the session socket for what the respondent, the microphone, the player and the
// server do. getUserMedia, AudioContext, AudioWorkletNode and the timers are small fakes of
// the browser's (node has none); the socket is a recording Stream stand-in.
import assert from "node:assert/strict";
import { test } from "node:test";

import { CONSTRAINTS, support } from "../../static/respondent/voice-io.js";
import { createVoice } from "../../static/respondent/voice-control.js";

const settle = () => new Promise((resolve) => setImmediate(resolve));

function browser({ refuse = null } = {}) {
  const made = { asked: [], modules: [], nodes: [], tracks: [], contexts: [], timers: new Map() };
  let nextTimer = 1;
  class AudioContext {
    constructor() {
      this.sampleRate = 48000;
      this.state = "running";
      this.destination = { name: "destination" };
      this.audioWorklet = { addModule: async (url) => made.modules.push(url) };
      made.contexts.push(this);
    }
    resume() {
      return Promise.resolve();
    }
    close() {
      this.state = "closed";
      return Promise.resolve();
    }
    createMediaStreamSource(media) {
      return { media, connect: (node) => (node.source = media) };
    }
  }
  class AudioWorkletNode {
    constructor(context, name, options) {
      Object.assign(this, { context, name, options, posted: [], connected: [] });
      this.port = { postMessage: (data) => this.posted.push(data), onmessage: null };
      made.nodes.push(this);
    }
    connect(to) {
      this.connected.push(to);
    }
  }
  const env = {
    isSecureContext: true,
    WebSocket: function WebSocket() {},
    AudioContext,
    AudioWorkletNode,
    navigator: {
      mediaDevices: {
        getUserMedia: async (constraints) => {
          made.asked.push(constraints);
          if (refuse) throw Object.assign(new Error("no"), { name: refuse });
          const track = { stopped: false, stop: () => (track.stopped = true) };
          made.tracks.push(track);
          return { getTracks: () => [track] };
        },
      },
    },
    setTimeout: (fn, ms) => {
      made.timers.set(nextTimer, { fn, ms });
      return nextTimer++;
    },
    clearTimeout: (id) => made.timers.delete(id),
  };
  return { env, made };
}

/** A voice mode with a recording socket and view; `kind` is the stream's transport. */
function harness(options = {}) {
  const { env, made } = browser(options);
  const socket = {
    kind: options.kind || "websocket",
    sent: [],
    wanted: 0,
    open: true, // Stream.send says whether the frame went out on an open socket
    send(data) {
      if (!this.open) return false;
      this.sent.push(data instanceof ArrayBuffer ? data.byteLength : data);
      return true;
    },
    wantSocket() {
      this.wanted += 1;
      return options.socketOk !== false;
    },
  };
  const view = {
    present: options.present !== false,
    levels: [],
    bind(handlers) {
      this.on = handlers;
    },
    render(state) {
      this.state = state;
    },
    level(value) {
      this.levels.push(value);
    },
    destroy() {
      this.destroyed = true;
    },
  };
  const changes = [];
  const voice = createVoice({ env, stream: () => socket, view, onChange: (s) => changes.push(s) });
  const json = (type) => socket.sent.filter((m) => typeof m === "object" && m.type === type);
  const node = (name) => made.nodes.find((n) => n.name === name);
  return { voice, view, socket, made, json, node, changes };
}

async function live(h) {
  h.voice.offer({ modes: ["text", "voice"] });
  h.view.on.choose("voice");
  h.view.on.allow();
  await settle();
  h.voice.frame({ type: "voice.ready", output: { sample_rate: 24000 } });
}

test("voice.start once the microphone is allowed; echo cancellation is asked for", async () => {
  const h = harness();
  h.voice.offer({ modes: ["text", "voice"] });
  assert.equal(h.view.state.phase, "choosing");
  h.view.on.choose("voice");
  assert.equal(h.made.asked.length, 0, "the explanation comes before the browser's prompt");
  h.view.on.allow();
  assert.equal(h.made.asked.length, 1, "asked in the click itself");
  assert.deepEqual(h.made.asked[0], CONSTRAINTS);
  const audio = h.made.asked[0].audio;
  assert.equal(audio.echoCancellation && audio.noiseSuppression && audio.autoGainControl, true);
  await settle();
  assert.ok(h.made.modules[0].endsWith("/static/respondent/voice-worklet.js"));
  assert.deepEqual(h.json("voice.start"), [
    {
      type: "voice.start",
      input: { sample_rate: 16000, encoding: "pcm_s16le", frame_ms: 20 },
      talk: "open",
    },
  ]);
  const capture = h.node("rapport-capture");
  assert.ok(capture.source, "the microphone feeds the capture node");
  assert.equal(h.node("rapport-playback").connected[0], h.made.contexts[0].destination);
  assert.ok(h.changes.length > 0);
});

test("microphone frames go out only after voice.ready and while the toggle is on", async () => {
  const h = harness();
  h.voice.offer({ modes: ["voice"] });
  h.view.on.allow();
  await settle();
  const capture = h.node("rapport-capture");
  const block = () => capture.port.onmessage({ data: new Float32Array(960).fill(0.1) });
  block();
  block();
  assert.equal(h.socket.sent.filter((m) => m === 640).length, 0, "not before voice.ready");
  h.voice.frame({ type: "voice.ready", output: { sample_rate: 24000 } });
  for (let i = 0; i < 5; i += 1) block();
  const frames = h.socket.sent.filter((m) => typeof m === "number");
  assert.ok(frames.length >= 4 && frames.every((n) => n === 640), String(frames));
  assert.ok(h.view.levels.some((v) => v > 0), "the meter moves while frames go out");
  h.view.on.mic(); // off: the turn ends
  assert.equal(h.json("voice.end_turn").length, 1);
  const count = h.socket.sent.length;
  block();
  assert.equal(h.socket.sent.length, count, "paused: nothing is sent");
  assert.equal(h.view.levels[h.view.levels.length - 1], 0);
  h.view.on.hold(true);
  block();
  block();
  assert.ok(h.socket.sent.length > count, "held: frames again");
  h.view.on.hold(false);
  assert.equal(h.json("voice.end_turn").length, 2, "letting go ends the turn");
});

test("the interviewer's audio is played per turn and its playback reported", async () => {
  const h = harness();
  await live(h);
  const player = h.node("rapport-playback");
  h.voice.audio(new ArrayBuffer(4)); // before audio.started: dropped
  assert.equal(player.posted.length, 0);
  h.voice.frame({ type: "audio.started", turn_id: "t2", sample_rate: 24000, kind: "turn" });
  assert.equal(h.view.state.phase, "speaking");
  h.voice.audio(new ArrayBuffer(4800));
  h.voice.audio(new ArrayBuffer(4800));
  assert.deepEqual(
    player.posted.map((m) => [m.type, m.turnId, m.rate, m.pcm.byteLength]),
    [["play", "t2", 24000, 4800], ["play", "t2", 24000, 4800]],
  );
  h.voice.frame({ type: "audio.ended", turn_id: "t2", duration_ms: 200 });
  assert.deepEqual(player.posted[2], { type: "end", turnId: "t2" });
  const say = (report) => player.port.onmessage({ data: { type: "progress", turnId: "t2", ...report } });
  say({ played_ms: 120, received: 2, idle: false });
  say({ played_ms: 260, received: 3, idle: false });
  say({ played_ms: 200.2, received: 3, idle: true });
  assert.deepEqual(h.json("playback"), [
    { type: "playback", turn_id: "t2", played_ms: 260, ended: false },
    { type: "playback", turn_id: "t2", played_ms: 260, ended: true },
  ]);
});

test("playback.stop flushes the player and answers with what was heard, within 200 ms", async () => {
  const h = harness();
  await live(h);
  const player = h.node("rapport-playback");
  h.voice.frame({ type: "audio.started", turn_id: "t3", sample_rate: 24000, kind: "turn" });
  h.voice.audio(new ArrayBuffer(48000));
  h.voice.frame({ type: "playback.stop", turn_id: "t3", reason: "barge_in" });
  assert.deepEqual(player.posted[1], { type: "flush", turnId: "t3" });
  assert.equal(h.view.state.phase, "listening");
  const [timer] = [...h.made.timers.values()];
  assert.ok(timer.ms < 200, "a player that doesn't answer is answered for in time");
  player.port.onmessage({ data: { type: "flushed", turnId: "t3", played_ms: 733.4 } });
  assert.deepEqual(h.json("playback"), [{ type: "playback", turn_id: "t3", played_ms: 733, ended: false }]);
  assert.equal(h.made.timers.size, 0);
  h.voice.audio(new ArrayBuffer(4800)); // still on its way when the stop came
  assert.equal(player.posted.length, 2, "a stopped turn's audio is not played");

  // A player that says nothing: the timer answers with its last report.
  h.voice.frame({ type: "audio.started", turn_id: "t4", sample_rate: 24000, kind: "turn" });
  h.voice.audio(new ArrayBuffer(4800));
  player.port.onmessage({ data: { type: "progress", turnId: "t4", played_ms: 90, received: 1 } });
  h.voice.frame({ type: "playback.stop", turn_id: "t4", reason: "barge_in" });
  [...h.made.timers.values()][0].fn();
  player.port.onmessage({ data: { type: "flushed", turnId: "t4", played_ms: 95 } }); // too late
  assert.deepEqual(h.json("playback").slice(1), [
    { type: "playback", turn_id: "t4", played_ms: 90, ended: false },
  ]);
  // Nothing playing at all: the answer comes at once.
  h.voice.frame({ type: "playback.stop", turn_id: "t9", reason: "barge_in" });
  assert.deepEqual(h.json("playback")[2], { type: "playback", turn_id: "t9", played_ms: 0, ended: false });
});

test("to text: what played is reported, voice.stop, the microphone released; back without a prompt", async () => {
  const h = harness();
  await live(h);
  h.voice.frame({ type: "audio.started", turn_id: "t2", sample_rate: 24000, kind: "turn" });
  h.voice.audio(new ArrayBuffer(4800));
  h.node("rapport-playback").port.onmessage({
    data: { type: "progress", turnId: "t2", played_ms: 40, received: 1 },
  });
  h.view.on.toText();
  assert.deepEqual(h.json("playback"), [{ type: "playback", turn_id: "t2", played_ms: 40, ended: false }]);
  assert.equal(h.json("voice.stop").length, 1);
  assert.ok(h.made.tracks[0].stopped, "the microphone is let go");
  assert.equal(h.made.contexts[0].state, "closed");
  assert.equal(h.node("rapport-capture").posted.at(-1).type, "stop");
  h.voice.frame({ type: "voice.ready" }); // late: ignored
  assert.equal(h.view.state.phase, "off");
  h.view.on.toVoice();
  assert.equal(h.view.state.phase, "connecting", "allowed before: no explanation again");
  await settle();
  assert.equal(h.made.asked.length, 2);
  assert.equal(h.json("voice.start").length, 2);
});

test("a refused microphone: no voice.start, the reason shown; retry asks again", async () => {
  const h = harness({ refuse: "NotAllowedError" });
  h.voice.offer({ modes: ["text", "voice"] });
  h.view.on.choose("voice");
  h.view.on.allow();
  await settle();
  assert.deepEqual([h.view.state.phase, h.view.state.reason], ["refused", "denied"]);
  assert.equal(h.json("voice.start").length, 0);
  assert.equal(h.made.contexts[0].state, "closed", "nothing is left open");
  h.view.on.retry();
  h.view.on.allow();
  assert.equal(h.made.asked.length, 2);
});

test("a processor that breaks stops voice with a way to try again", async () => {
  const h = harness();
  await live(h);
  h.node("rapport-capture").onprocessorerror(new Event("processorerror"));
  assert.deepEqual([h.view.state.phase, h.view.state.reason], ["refused", "failed"]);
  assert.equal(h.json("voice.stop").length, 1, "the server is told voice stopped");
  assert.ok(h.made.tracks[0].stopped);
});

test("voice.error stops voice without a voice.stop; a dropped socket starts it again", async () => {
  const h = harness();
  await live(h);
  h.socket.open = false;
  h.voice.dropped();
  assert.equal(h.view.state.phase, "connecting");
  assert.deepEqual(h.node("rapport-playback").posted.at(-1), { type: "reset" });
  h.socket.open = true;
  h.voice.opened();
  assert.equal(h.json("voice.start").length, 2, "asked again on the new socket");
  h.voice.frame({ type: "voice.ready" });
  h.voice.frame({ type: "voice.error", error: { code: "speech_unavailable", message: "down" }, fallback: "text" });
  assert.equal(h.view.state.phase, "failed");
  assert.equal(h.json("voice.stop").length, 0, "the server stopped voice itself");
  assert.ok(h.made.tracks[0].stopped);
});

test("a page on SSE asks for a socket; one that can't get it says so", async () => {
  const h = harness({ kind: "sse" });
  await live(h);
  assert.equal(h.socket.wanted, 1);
  assert.equal(h.json("voice.start").length, 0, "not on SSE");
  h.voice.opened(); // the stream reconnected, still SSE: sockets don't get through
  assert.deepEqual([h.view.state.phase, h.view.state.reason], ["unavailable", "noSocket"]);
  const refused = harness({ socketOk: false });
  await live(refused);
  assert.equal(refused.view.state.phase, "unavailable");
});

test("without the voice markup or the browser's audio, an interview that takes text is typed", () => {
  const plain = harness({ present: false });
  plain.voice.offer({ modes: ["text", "voice"] });
  assert.deepEqual(plain.view.state.modes, ["text"]);
  const { env } = browser();
  assert.equal(support(env), "");
  assert.equal(support({ ...env, isSecureContext: false }), "insecure");
  assert.equal(support({ ...env, AudioWorkletNode: undefined }), "unsupported");
  assert.equal(support({ ...env, navigator: {} }), "unsupported");
  assert.equal(support({ ...env, WebSocket: undefined }), "noSocket");
  const h = harness();
  h.voice.ended();
  h.voice.destroy();
  assert.ok(h.view.destroyed);
});
