/* Voice mode run for one conversation: the voice state (voice.js), the microphone and player
 * (voice-io.js), the session's WebSocket (transport.js Stream) and the voice view together.
 *
 * `createVoice({root, env, stream, onChange})` returns the hooks respondent.js calls: `offer`
 * (the interview's modes), `typing()` (whether the composer is shown), `caption` (the turn
 * already shown when voice came) and `event` (each stream event after it: captions), `frame` / `audio` (the socket's voice frames and binary audio),
 * `opened` / `dropped` (the socket came and went), `ended` and `destroy`. `stream()` gives
 * the conversation's Stream, or null before there is one. The view is voice-view.js's in
 * `root` (tests pass their own as `view`). The protocol is docs/voice.md's. Browser APIs
 * come in through `env`.
 */

import { FRAME_MS, INPUT_RATE } from "./audio.js";
import { VoiceIO, support } from "./voice-io.js";
import { createVoiceView } from "./voice-view.js";
import {
  composerShown,
  isLive,
  modesOf,
  PlaybackLog,
  refusalOf,
  sending,
  voiceInitial,
  voiceReduce,
} from "./voice.js";

// playback.stop must be answered within 200 ms: a player that has not said what it flushed
// by then is answered for with what it last reported.
const FLUSH_ANSWER_MS = 150;
const START = {
  type: "voice.start",
  input: { sample_rate: INPUT_RATE, encoding: "pcm_s16le", frame_ms: FRAME_MS },
  talk: "open", // the server's listener ends turns; releasing the talk control ends one too
};

export function createVoice({ root, env, stream, onChange, view = createVoiceView(root) }) {
  let state = voiceInitial();
  let log = new PlaybackLog();
  let io = null;
  let started = false; // voice.start went out on the socket that is open now
  const flushTimers = new Map(); // turn_id -> timer of the answer to its playback.stop

  const send = (data) => {
    const current = stream();
    return Boolean(current && current.send(data));
  };

  function dispatch(action) {
    const before = state;
    state = voiceReduce(state, action);
    effects(before, state);
    view.render(state);
    if (before !== state) onChange(state);
  }

  function effects(before, now) {
    const wasLive = isLive(before);
    const live = isLive(now);
    if (now.phase === "requesting" && before.phase !== "requesting") openMicrophone();
    else if (live && !wasLive && !io) openMicrophone();
    if (wasLive && !live) stopVoice(now.phase !== "failed");
    if (now.phase === "connecting" && before.phase !== "connecting") connect();
    const talking = before.micOn || before.holding;
    const talks = now.micOn || now.holding;
    if (talking && !talks && io) io.pause();
    if (talking && !talks && sending(before)) send({ type: "voice.end_turn" });
  }

  function openMicrophone() {
    const mine = new VoiceIO(env, {
      onFrame: (frame) => {
        if (io === mine && sending(state)) send(frame);
      },
      onLevel: (value) => io === mine && view.level(sending(state) ? value : 0),
      onPlayer: (report) => io === mine && player(report),
      onFailure: () => io === mine && dispatch({ type: "refused", reason: "failed" }),
    });
    io = mine;
    mine.start().then(
      () => io === mine && dispatch({ type: "granted" }),
      (error) => {
        if (io !== mine) return;
        io = null;
        dispatch({ type: "refused", reason: refusalOf(error) });
      },
    );
  }

  /** Ask for voice on the socket, opening one if the stream is on SSE. */
  function connect() {
    const current = stream();
    if (!current) return; // the conversation's stream starts soon: `opened` asks then
    if (!current.wantSocket()) {
      dispatch({ type: "unavailable", reason: "noSocket" });
      return;
    }
    if (current.kind === "websocket" && !started) started = send(START);
  }

  function stopVoice(tellServer) {
    for (const timer of flushTimers.values()) env.clearTimeout(timer);
    flushTimers.clear();
    if (started && tellServer) {
      for (const turnId of log.playing()) send(log.flushed(turnId)); // what was heard of it
      send({ type: "voice.stop" });
    }
    started = false;
    log = new PlaybackLog();
    if (io) io.stop();
    io = null;
    view.level(0);
  }

  function player(report) {
    if (report.type === "flushed") {
      if (!flushTimers.has(report.turnId)) return; // answered for already
      env.clearTimeout(flushTimers.get(report.turnId));
      flushTimers.delete(report.turnId);
      send(log.flushed(report.turnId, report.played_ms));
    } else if (report.type === "progress") {
      for (const message of log.progress(report.turnId, report)) send(message);
    }
  }

  function playbackStop(turnId) {
    if (!log.stop(turnId) || !io || !io.flush(turnId)) {
      send(log.flushed(turnId)); // nothing was playing: the answer is what was heard
      return;
    }
    const answer = () => {
      flushTimers.delete(turnId);
      send(log.flushed(turnId));
    };
    flushTimers.set(turnId, env.setTimeout(answer, FLUSH_ANSWER_MS));
  }

  function frame(message) {
    if (!message || !isLive(state)) return;
    if (message.type === "audio.started") log.started(message.turn_id, message.sample_rate);
    else if (message.type === "audio.ended" && log.serverEnded(message.turn_id) && io) {
      io.endTurn(message.turn_id);
    } else if (message.type === "playback.stop") playbackStop(message.turn_id);
    dispatch({ type: "frame", frame: message });
  }

  function audio(data) {
    if (!isLive(state)) return;
    const where = log.audio();
    if (where && io) io.play(where.turnId, data, where.rate);
  }

  view.bind({
    choose: (mode) => dispatch({ type: "choose", mode }),
    allow: () => dispatch({ type: "allow" }),
    retry: () => dispatch({ type: "retry" }),
    toText: () => dispatch({ type: "toText" }),
    toVoice: () => dispatch({ type: "toVoice" }),
    mic: () => dispatch({ type: "mic", on: !state.micOn }),
    hold: (on) => dispatch({ type: "hold", on }),
  });

  view.render(state);
  return {
    state: () => state,
    typing: () => composerShown(state),
    offer(info) {
      // Without the voice markup (an embedding page's own), or in a browser that cannot
      // record, an interview that also takes text is simply typed.
      let modes = view.present ? modesOf(info) : ["text"];
      const missing = modes.includes("voice") ? support(env) : "";
      if (missing && modes.includes("text")) modes = ["text"];
      dispatch({ type: "modes", modes });
      if (missing && modes.includes("voice")) dispatch({ type: "unavailable", reason: missing });
    },
    caption(turnId, text) {
      dispatch({ type: "caption", turnId, text });
    },
    event(event) {
      dispatch({ type: "event", event: event.event, data: event.data });
    },
    frame,
    audio,
    /** A connection opened: a live voice mode asks for voice on it (again, after a drop). */
    opened() {
      started = false;
      if (!isLive(state)) return;
      const current = stream();
      if (current && current.kind !== "websocket") {
        dispatch({ type: "unavailable", reason: "noSocket" });
        return;
      }
      if (state.phase !== "connecting") dispatch({ type: "disconnected" });
      else connect();
    },
    dropped() {
      started = false;
      log = new PlaybackLog(); // the server starts afresh on the next socket
      if (io) io.reset();
      dispatch({ type: "disconnected" });
    },
    ended() {
      dispatch({ type: "ended" });
    },
    destroy() {
      stopVoice(false);
      view.destroy();
    },
  };
}
