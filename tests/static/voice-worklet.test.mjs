// The AudioWorkletProcessors (static/respondent/voice-worklet.js) run here as the browser runs
// them: `process` called per 128-frame render quantum, messages through a port that clones
// (and transfers, detaching what was sent) like a MessagePort. The global scope's
// AudioWorkletProcessor, registerProcessor and sampleRate are set up as the worklet has them.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Resampler, toInt16 } from "../../static/respondent/audio.js";

class Port {
  constructor() {
    this.sent = [];
    this.onmessage = null;
  }
  postMessage(data, transfer) {
    this.sent.push(structuredClone(data, transfer ? { transfer } : undefined));
  }
  /** What the page posts to the processor. */
  deliver(data, transfer) {
    this.onmessage({ data: structuredClone(data, transfer ? { transfer } : undefined) });
  }
}

const processors = {};
globalThis.sampleRate = 48000;
globalThis.AudioWorkletProcessor = class {
  constructor() {
    this.port = new Port();
  }
};
globalThis.registerProcessor = (name, cls) => {
  processors[name] = cls;
};
await import("../../static/respondent/voice-worklet.js");

const QUANTUM = 128;

function pcm(samples) {
  const bytes = new ArrayBuffer(samples.length * 2);
  const view = new DataView(bytes);
  samples.forEach((s, i) => view.setInt16(2 * i, toInt16(s), true));
  return bytes;
}

const tone = (freq, rate, count) =>
  Array.from({ length: count }, (_, i) => 0.5 * Math.sin((2 * Math.PI * freq * i) / rate));

test("both processors are registered under the names the page uses", () => {
  assert.deepEqual(Object.keys(processors).sort(), ["rapport-capture", "rapport-playback"]);
});

test("capture posts ~20 ms mono blocks, a stereo device mixed down, block after block", () => {
  const capture = new processors["rapport-capture"]();
  const left = new Float32Array(QUANTUM).fill(0.5);
  const right = new Float32Array(QUANTUM).fill(-0.25);
  for (let i = 0; i < 30; i += 1) assert.equal(capture.process([[left, right]], [], {}), true);
  // 30 quanta of 128 = 3840 samples at 48 kHz: four blocks of 960 (20 ms), the rest pending.
  assert.equal(capture.port.sent.length, 4);
  for (const block of capture.port.sent) {
    assert.ok(block instanceof Float32Array && block.length === 960);
    assert.ok(block.every((v) => v === 0.125));
  }
  assert.equal(capture.process([[]], [], {}), true, "a muted track has no channels: wait");
  capture.port.deliver({ type: "stop" });
  assert.equal(capture.process([[left]], [], {}), false, "stopped: the browser may drop it");
});

/** Runs the player for `quanta` render quanta; returns channel 0 and 1 as arrays. */
function render(player, quanta) {
  const left = [];
  const right = [];
  for (let q = 0; q < quanta; q += 1) {
    const output = [new Float32Array(QUANTUM), new Float32Array(QUANTUM)];
    assert.equal(player.process([], [output], {}), true);
    left.push(...output[0]);
    right.push(...output[1]);
  }
  return [left, right];
}

test("playback plays 24 kHz PCM at the context's 48 kHz, reports progress, then idles", () => {
  const player = new processors["rapport-playback"]();
  const samples = tone(440, 24000, 4800); // 200 ms
  const expected = [...new Resampler(24000, 48000).push(Float32Array.from(samples))];
  const half = samples.length / 2;
  player.port.deliver({ type: "play", turnId: "t2", pcm: pcm(samples.slice(0, half)), rate: 24000 });
  player.port.deliver({ type: "play", turnId: "t2", pcm: pcm(samples.slice(half)), rate: 24000 });
  player.port.deliver({ type: "end", turnId: "t2" });
  const [left, right] = render(player, 90); // 240 ms at 48 kHz
  assert.deepEqual(left, right, "mono on every output channel");
  // What the page's own resampler makes of it (less 16-bit rounding), then silence.
  for (let i = 0; i < expected.length; i += 1) assert.ok(Math.abs(left[i] - expected[i]) < 1e-3, `${i}`);
  assert.ok(left.slice(9700).every((v) => v === 0), "silence once it has played out");
  const reports = player.port.sent;
  assert.ok(reports.every((r) => r.type === "progress" && r.turnId === "t2"));
  const during = reports.filter((r) => !r.idle);
  assert.ok(during.length >= 3, "progress every ~50 ms while playing");
  const played = reports.map((r) => r.played_ms);
  assert.deepEqual(played, [...played].sort((a, b) => a - b));
  const last = reports[reports.length - 1];
  assert.equal(last.idle, true);
  assert.equal(last.received, 3, "both chunks and the end");
  assert.ok(Math.abs(last.played_ms - 200) < 1, `${last.played_ms} ms`);
});

test("a flush drops what is queued at once and says what was played", () => {
  const player = new processors["rapport-playback"]();
  player.port.deliver({ type: "play", turnId: "t3", pcm: pcm(tone(300, 24000, 24000)), rate: 24000 });
  render(player, 75); // 200 ms of a second
  player.port.sent.length = 0;
  player.port.deliver({ type: "flush", turnId: "t3" });
  const [flushed] = player.port.sent;
  assert.equal(flushed.type, "flushed");
  assert.equal(flushed.turnId, "t3");
  assert.equal(flushed.played_ms, 200);
  const [after] = render(player, 4);
  assert.ok(after.every((v) => v === 0), "nothing more of it plays");
  // A turn's end with nothing queued: idle at once, so the page can say it has ended.
  player.port.deliver({ type: "end", turnId: "t4" });
  const idle = player.port.sent[player.port.sent.length - 1];
  assert.deepEqual(idle, { type: "progress", turnId: "t4", played_ms: 0, received: 1, idle: true });
});

test("playback follows a change of the announced rate", () => {
  const player = new processors["rapport-playback"]();
  player.port.deliver({ type: "play", turnId: "t5", pcm: pcm(tone(440, 16000, 1600)), rate: 16000 });
  player.port.deliver({ type: "end", turnId: "t5" });
  render(player, 60);
  const last = player.port.sent[player.port.sent.length - 1];
  assert.ok(last.idle && Math.abs(last.played_ms - 100) < 1, JSON.stringify(last));
});

test("a reset drops the queue and forgets the turns' counts (a new socket starts afresh)", () => {
  const player = new processors["rapport-playback"]();
  player.port.deliver({ type: "play", turnId: "t6", pcm: pcm(tone(440, 24000, 2400)), rate: 24000 });
  render(player, 10);
  player.port.deliver({ type: "reset" });
  const [after] = render(player, 2);
  assert.ok(after.every((v) => v === 0));
  player.port.sent.length = 0;
  player.port.deliver({ type: "end", turnId: "t6" });
  assert.deepEqual(player.port.sent, [
    { type: "progress", turnId: "t6", played_ms: 0, received: 1, idle: true },
  ]);
});
