/* The microphone and the loudspeaker for voice mode: getUserMedia, one AudioContext and the
 * two AudioWorklet nodes of respondent/voice-worklet.js.
 *
 * `VoiceIO.start()` must be called from the respondent's click (browsers only open the
 * microphone and play audio after a gesture); it rejects with the browser's error when the
 * microphone is refused (voice.js refusalOf names it). Capture comes out as 640-byte frames
 * (`onFrame`) and a level 0..1 (`onLevel`); the player's reports come out of `onPlayer`;
 * `onFailure` says a processor broke (the audio stopped).
 * Browser APIs come in through `env` (the window), so node tests pass fakes.
 */

import { Framer, level, rms } from "./audio.js";

/** What the page asks of the microphone: the browser's echo canceller above all, since the
 * interviewer's voice comes out of the same device's speakers. */
export const CONSTRAINTS = {
  audio: {
    echoCancellation: true,
    noiseSuppression: true,
    autoGainControl: true,
    channelCount: 1,
  },
  video: false,
};

const WORKLET = new URL("./voice-worklet.js", import.meta.url).href;

/** Why voice cannot work in this browser ("" when it can): a VOICE_TEXT key. */
export function support(env) {
  if (env.isSecureContext === false) return "insecure";
  const media = env.navigator && env.navigator.mediaDevices;
  if (!media || typeof media.getUserMedia !== "function") return "unsupported";
  if (typeof env.AudioContext !== "function" || typeof env.AudioWorkletNode !== "function") {
    return "unsupported";
  }
  if (typeof env.WebSocket !== "function") return "noSocket";
  return "";
}

export class VoiceIO {
  constructor(env, { onFrame, onLevel, onPlayer, onFailure }) {
    this.env = env;
    this.on = { frame: onFrame, level: onLevel, player: onPlayer, failure: onFailure };
    this.media = null;
    this.context = null;
    this.capture = null;
    this.player = null;
    this.framer = null;
    this.closed = false;
  }

  async start() {
    // Both first, in the click's own task: a gesture lets the context start running.
    const asked = this.env.navigator.mediaDevices.getUserMedia(CONSTRAINTS);
    const context = new this.env.AudioContext({ latencyHint: "interactive" });
    this.context = context;
    try {
      const resumed = context.resume().catch(() => {}); // a context left suspended plays nothing, no more
      this.media = await asked;
      await resumed;
      if (this.closed) throw new Error("closed");
      await context.audioWorklet.addModule(WORKLET);
      if (this.closed) throw new Error("closed");
    } catch (error) {
      this.stop();
      throw error;
    }
    const Node = this.env.AudioWorkletNode;
    this.framer = new Framer(context.sampleRate);
    this.capture = new Node(context, "rapport-capture", { numberOfOutputs: 1, outputChannelCount: [1] });
    this.capture.port.onmessage = ({ data }) => this.captured(data);
    this.player = new Node(context, "rapport-playback", { numberOfInputs: 0, outputChannelCount: [1] });
    this.player.port.onmessage = ({ data }) => this.on.player(data);
    // A processor that threw is dead for good: say so rather than go quiet.
    this.capture.onprocessorerror = () => !this.closed && this.on.failure();
    this.player.onprocessorerror = () => !this.closed && this.on.failure();
    context.createMediaStreamSource(this.media).connect(this.capture);
    // A processor is only run while something pulls on it: the capture node writes silence.
    this.capture.connect(context.destination);
    this.player.connect(context.destination);
  }

  captured(block) {
    if (this.closed) return;
    this.on.level(level(rms(block)));
    for (const frame of this.framer.push(block)) this.on.frame(frame);
  }

  /** The microphone paused: a partial frame would join two moments, so it goes. */
  pause() {
    if (this.framer) this.framer.reset();
  }

  play(turnId, pcm, rate) {
    if (this.player) this.player.port.postMessage({ type: "play", turnId, pcm, rate }, [pcm]);
  }

  endTurn(turnId) {
    if (this.player) this.player.port.postMessage({ type: "end", turnId });
  }

  /** Whether there was a player to flush (it answers with a "flushed" report). */
  flush(turnId) {
    if (!this.player) return false;
    this.player.port.postMessage({ type: "flush", turnId });
    return true;
  }

  /** Drop all queued audio and forget every turn's counts (a new socket starts afresh). */
  reset() {
    if (this.player) this.player.port.postMessage({ type: "reset" });
  }

  stop() {
    this.closed = true;
    if (this.capture) this.capture.port.postMessage({ type: "stop" });
    if (this.media) for (const track of this.media.getTracks()) track.stop();
    if (this.context && this.context.state !== "closed") this.context.close().catch(() => {});
    this.media = this.context = this.capture = this.player = this.framer = null;
  }
}
