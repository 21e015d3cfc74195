// Voice mode's sample arithmetic (static/respondent/audio.js): the microphone's floats at the
// AudioContext's rate become exactly-640-byte 16 kHz frames through a real low-pass, and the
// interviewer's 24 kHz PCM is brought up to the context's rate.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  FRAME_BYTES,
  Framer,
  Resampler,
  level,
  pcmToFloat32,
  rms,
  smooth,
  toInt16,
} from "../../static/respondent/audio.js";

const sine = (freq, rate, count, amp = 0.5, from = 0) =>
  Float32Array.from({ length: count }, (_, i) => amp * Math.sin((2 * Math.PI * freq * (i + from)) / rate));

/** Pushes `input` through in blocks of `size` (an AudioWorklet's 128 by default). */
function inBlocks(input, size, push) {
  const out = [];
  for (let at = 0; at < input.length; at += size) out.push(...push(input.subarray(at, at + size)));
  return out;
}

function samplesOf(frames) {
  const out = [];
  for (const frame of frames) {
    const view = new DataView(frame);
    for (let i = 0; i < view.byteLength; i += 2) out.push(view.getInt16(i, true) / 32768);
  }
  return out;
}

/** Largest difference from `expected(i)` past the first `skip` samples (the kernel's start)
 * and before the last `tail` (where `end` pads the cut-off input with silence). */
function worstError(samples, expected, skip = 40, tail = 0) {
  let worst = 0;
  for (let i = skip; i < samples.length - tail; i += 1) worst = Math.max(worst, Math.abs(samples[i] - expected(i)));
  return worst;
}

for (const rate of [48000, 44100, 16000, 22050]) {
  test(`a second at ${rate} Hz becomes 640-byte frames of the same tone at 16 kHz`, () => {
    const framer = new Framer(rate);
    const frames = inBlocks(sine(440, rate, rate), 128, (b) => framer.push(b));
    assert.ok(frames.every((f) => f instanceof ArrayBuffer && f.byteLength === FRAME_BYTES));
    // 16000 samples less the kernel's look-ahead (under a millisecond): 49 whole frames.
    assert.equal(frames.length, rate === 16000 ? 50 : 49);
    const out = samplesOf(frames);
    const error = worstError(out, (i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / 16000));
    assert.ok(error < 0.01, `worst error ${error}`);
  });
}

test("what lies above 8 kHz is filtered out, not folded down (no sample dropping)", () => {
  // Every third sample of a 12 kHz tone at 48 kHz would be a full-strength 4 kHz tone.
  for (const [rate, freq] of [[48000, 12000], [44100, 10500], [48000, 20000]]) {
    const resampler = new Resampler(rate, 16000);
    const out = resampler.push(sine(freq, rate, rate, 0.9)).subarray(100);
    assert.ok(rms(out) < 0.005, `${freq} Hz at ${rate}: rms ${rms(out)}`);
  }
  // …while speech frequencies pass at full strength.
  const passed = new Resampler(48000, 16000).push(sine(3000, 48000, 48000, 0.9)).subarray(100);
  assert.ok(Math.abs(rms(passed) - 0.9 / Math.SQRT2) < 0.01, `3 kHz: rms ${rms(passed)}`);
});

test("a constant stays that constant, and block sizes change nothing", () => {
  const dc = new Resampler(44100, 16000).push(new Float32Array(44100).fill(0.25)).subarray(40);
  assert.ok(dc.every((v) => Math.abs(v - 0.25) < 1e-5));
  const input = sine(1000, 44100, 20000);
  const whole = Array.from(new Resampler(44100, 16000).push(input));
  for (const size of [1, 128, 441, 7]) {
    const resampler = new Resampler(44100, 16000);
    const pieces = inBlocks(input, size, (b) => resampler.push(b));
    assert.equal(pieces.length, whole.length, `blocks of ${size}`);
    assert.ok(pieces.every((v, i) => Math.abs(v - whole[i]) < 1e-6), `blocks of ${size}`);
  }
});

test("the end flushes every sample the input covers", () => {
  const resampler = new Resampler(48000, 16000);
  const out = resampler.push(sine(500, 48000, 4800));
  const rest = resampler.end();
  assert.equal(out.length + rest.length, 1600);
});

test("the interviewer's 24 kHz speech comes up to 48 kHz smoothly, and odd rates work", () => {
  const up = new Resampler(24000, 48000);
  const input = sine(1000, 24000, 2400);
  const out = [...up.push(input), ...up.end()];
  assert.equal(out.length, 4800);
  const error = worstError(out, (i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 48000), 60, 60);
  assert.ok(error < 0.01, `worst error ${error}`);
  // Coprime rates (many phases): the taps are computed per sample instead of from a table.
  const odd = new Resampler(22051, 47999);
  assert.equal(odd.table, null);
  const oddOut = [...odd.push(sine(700, 22051, 22051)), ...odd.end()];
  assert.equal(oddOut.length, 47999);
  const oddError = worstError(oddOut, (i) => 0.5 * Math.sin((2 * Math.PI * 700 * i) / 47999), 100, 100);
  assert.ok(oddError < 0.01, `worst error ${oddError}`);
  assert.throws(() => new Resampler(0, 16000), RangeError);
});

test("frames are 16-bit little-endian, clipped, and PCM reads back", () => {
  const framer = new Framer(16000);
  const block = new Float32Array(320).fill(0);
  block[0] = 1.5; // clipped to full scale
  block[1] = -1;
  block[2] = 0.5;
  const [frame] = framer.push(block);
  const bytes = new Uint8Array(frame);
  assert.deepEqual([...bytes.subarray(0, 6)], [0xff, 0x7f, 0x00, 0x80, 0x00, 0x40]);
  assert.equal(toInt16(-2), -32768);
  const back = pcmToFloat32(new Uint8Array([0x00, 0x40, 0x00, 0xc0, 0x01]));
  assert.deepEqual([...back], [0.5, -0.5]); // an odd trailing byte is not a sample
  assert.deepEqual([...pcmToFloat32(new Int16Array([16384]).buffer)], [0.5]);
  // A pause drops the partial frame: what follows starts a fresh one.
  framer.push(new Float32Array(100));
  framer.reset();
  assert.equal(framer.push(new Float32Array(320)).length, 1);
});

test("the level meter reads RMS on a decibel scale, rising at once and falling gently", () => {
  assert.equal(level(0), 0);
  assert.equal(level(0.001), 0); // -60 dBFS: silence
  assert.ok(Math.abs(level(0.1) - 2 / 3) < 1e-9); // -20 dBFS
  assert.equal(level(1), 1);
  assert.equal(level(2), 1);
  assert.ok(Math.abs(rms(sine(1000, 48000, 4800, 1)) - Math.SQRT1_2) < 1e-3);
  assert.equal(smooth(0.2, 0.9), 0.9);
  assert.ok(Math.abs(smooth(0.9, 0, 0.1) - 0.8) < 1e-9);
  assert.equal(smooth(0.05, 0, 0.1), 0);
});
