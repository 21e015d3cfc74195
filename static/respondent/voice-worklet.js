/* Voice mode's AudioWorkletProcessors: the microphone's capture and the interviewer's playback.
 *
 * Loaded with `audioWorklet.addModule` from this origin (the page's CSP allows nothing else).
 * "rapport-capture" posts mono Float32 blocks of about 20 ms at the context's rate to the
 * page, which frames them for the server (respondent/audio.js Framer). "rapport-playback"
 * plays the interviewer's 16-bit PCM at the rate the server announced, resampled to the
 * context's rate, turn by turn; `flush` drops everything queued at once; it reports per turn
 * how much it has played and how many messages it has received (respondent/voice.js
 * PlaybackLog keeps the accounting).
 *
 * Messages to the playback port: {type: "play", turnId, pcm: ArrayBuffer, rate},
 * {type: "end", turnId} (the turn's audio is all sent), {type: "flush", turnId}, and
 * {type: "reset"} (everything dropped and forgotten: the socket was replaced).
 * From it: {type: "progress", turnId, played_ms, received, idle} and
 * {type: "flushed", turnId, played_ms}.
 */

import { Resampler, pcmToFloat32 } from "./audio.js";

const CAPTURE_MS = 20; // a block per frame's worth: few messages, little delay
const REPORT_MS = 50; // progress this often while playing; the page sends every 250 ms

class Capture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.block = new Float32Array(Math.round((sampleRate * CAPTURE_MS) / 1000));
    this.filled = 0;
    this.stopped = false;
    this.port.onmessage = ({ data }) => {
      if (data && data.type === "stop") this.stopped = true;
    };
  }

  process(inputs) {
    if (this.stopped) return false;
    const channels = inputs[0] || [];
    if (!channels.length) return true; // the track is muted or not yet started
    const frames = channels[0].length;
    for (let i = 0; i < frames; i += 1) {
      let sum = 0;
      for (const channel of channels) sum += channel[i];
      this.block[this.filled] = sum / channels.length; // a stereo device, mixed down
      this.filled += 1;
      if (this.filled === this.block.length) {
        const block = this.block;
        this.block = new Float32Array(block.length); // before the transfer empties `block`
        this.port.postMessage(block, [block.buffer]);
        this.filled = 0;
      }
    }
    return true;
  }
}

class Playback extends AudioWorkletProcessor {
  constructor() {
    super();
    this.queue = []; // {turnId, samples: Float32Array, at}
    this.turns = new Map(); // turnId -> {rate, resampler, played (samples), received}
    this.sinceReport = 0;
    this.port.onmessage = ({ data }) => this.receive(data);
  }

  turn(turnId) {
    let turn = this.turns.get(turnId);
    if (!turn) {
      turn = { rate: 0, resampler: null, played: 0, received: 0 };
      this.turns.set(turnId, turn);
    }
    return turn;
  }

  receive(data) {
    if (!data) return;
    if (data.type === "play") {
      const turn = this.turn(data.turnId);
      turn.received += 1;
      if (!turn.resampler || turn.rate !== data.rate) {
        turn.rate = data.rate;
        turn.resampler = new Resampler(data.rate, sampleRate);
      }
      this.enqueue(data.turnId, turn.resampler.push(pcmToFloat32(data.pcm)));
    } else if (data.type === "end") {
      const turn = this.turn(data.turnId);
      turn.received += 1;
      if (turn.resampler) this.enqueue(data.turnId, turn.resampler.end());
      turn.resampler = null;
      if (!this.queue.some((item) => item.turnId === data.turnId)) this.report(data.turnId, true);
    } else if (data.type === "reset") {
      // A new socket: the server starts its accounting afresh, and so does the player.
      this.queue = [];
      this.turns.clear();
    } else if (data.type === "flush") {
      this.queue = [];
      for (const turn of this.turns.values()) turn.resampler = null;
      const turn = this.turn(data.turnId);
      this.port.postMessage({ type: "flushed", turnId: data.turnId, played_ms: this.ms(turn) });
    }
  }

  enqueue(turnId, samples) {
    if (samples.length) this.queue.push({ turnId, samples, at: 0 });
  }

  ms(turn) {
    return (turn.played * 1000) / sampleRate;
  }

  report(turnId, idle) {
    const turn = this.turn(turnId);
    const message = { type: "progress", turnId, played_ms: this.ms(turn), received: turn.received, idle };
    this.port.postMessage(message);
  }

  process(_inputs, outputs) {
    const output = outputs[0];
    if (!output || !output.length) return true;
    const first = output[0];
    let written = 0;
    const played = new Set();
    while (written < first.length && this.queue.length) {
      const head = this.queue[0];
      const count = Math.min(first.length - written, head.samples.length - head.at);
      first.set(head.samples.subarray(head.at, head.at + count), written);
      head.at += count;
      written += count;
      this.turn(head.turnId).played += count;
      played.add(head.turnId);
      if (head.at === head.samples.length) {
        this.queue.shift();
        const more = this.queue.some((item) => item.turnId === head.turnId);
        if (!more) this.report(head.turnId, true); // played out, for now
      }
    }
    first.fill(0, written);
    for (let c = 1; c < output.length; c += 1) output[c].set(first);
    this.sinceReport += first.length;
    if (played.size && this.sinceReport >= (sampleRate * REPORT_MS) / 1000) {
      this.sinceReport = 0;
      for (const turnId of played) {
        if (this.queue.some((item) => item.turnId === turnId)) this.report(turnId, false);
      }
    }
    return true;
  }
}

registerProcessor("rapport-capture", Capture);
registerProcessor("rapport-playback", Playback);
