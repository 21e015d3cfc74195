/* Voice mode as data: `voiceReduce(state, action)` and the playback queue's accounting.
 *
 * No DOM, no audio, no network: whether the respondent talks or types, the microphone
 * permission step, listening / thinking / speaking, the captions and what the page must
 * tell the server about playback all follow from the actions seen so far, so they are
 * tested in node (tests/static/voice.test.mjs). The protocol is docs/voice.md's: the
 * server's voice frames arrive as {type: "frame", frame}, the conversation's stream events
 * as {type: "event", event, data}; the rest are what the respondent or the browser did.
 */

export const VOICE_TEXT = {
  choose: "How would you like to answer?",
  explain:
    "To talk with the interviewer, this page needs your microphone. Your browser will ask " +
    "you to allow it. What you say is turned into text for this interview, and the audio is " +
    "kept with it.",
  requesting: "Waiting for you to allow the microphone in your browser…",
  denied:
    "The microphone is blocked for this page. To talk, allow it in your browser: select the " +
    "icon at the left of the address bar, set Microphone to Allow, then press Try again.",
  noDevice: "No microphone was found. Connect one, then press Try again.",
  busy: "The microphone is in use by another program. Close it, then press Try again.",
  insecure: "Talking needs a secure (https) connection. You can type your answers instead.",
  unsupported: "This browser can't record audio here. You can type your answers instead.",
  noSocket: "Your connection doesn't allow talking right now. You can type your answers instead.",
  failed: "The microphone could not be started. Press Try again.",
  typeInstead: "You can type your answers instead.",
  speechFailed: "Voice isn't working right now. Please type your answer instead — nothing you said is lost.",
  connecting: "Connecting…",
  listening: "Listening…",
  hearing: "Listening — you're speaking",
  thinking: "The interviewer is thinking…",
  speaking: "The interviewer is speaking…",
  muted: "Microphone paused — press Talk or hold Space to speak",
};

// Phases in which the microphone is open and the socket carries audio.
const LIVE = new Set(["connecting", "listening", "thinking", "speaking"]);
const SERVER_STATES = new Set(["listening", "thinking", "speaking"]);
const REFUSALS = { denied: "denied", noDevice: "noDevice", busy: "busy", insecure: "insecure" };

/** The interview's modes as the public view gives them (absent: text only). */
export function modesOf(info) {
  const given = info && Array.isArray(info.modes) ? info.modes : [];
  const modes = ["text", "voice"].filter((m) => given.includes(m));
  return modes.length ? modes : ["text"];
}

export function voiceInitial() {
  return {
    modes: ["text"],
    mode: "text", // what the respondent uses now: "text" | "voice"
    // off | choosing | explaining | requesting | refused | connecting | listening | thinking
    // | speaking | failed (voice.error: type instead) | unavailable (nothing to fix here)
    phase: "off",
    reason: "", // what the refused / failed / unavailable phase says (a VOICE_TEXT key)
    message: "", // a server's message for a failure, shown beside it
    granted: false, // the microphone was allowed once on this page: no second explanation
    micOn: true, // the talk toggle (aria-pressed): frames go to the server while on
    holding: false, // Space is held down: push-to-talk
    hearing: false, // the server heard speech start (and not yet stop)
    captions: { turnId: "", interviewer: "", respondent: "" },
    output: null, // the server's announced output format, from voice.ready
    ended: false,
  };
}

export const textAllowed = (state) => state.modes.includes("text");
export const voiceAllowed = (state) => state.modes.includes("voice");
/** Whether the microphone and the socket's audio should be running. */
export const isLive = (state) => LIVE.has(state.phase);
/** Whether microphone frames go to the server now. */
export const sending = (state) =>
  SERVER_STATES.has(state.phase) && (state.micOn || state.holding);

/** Whether the text composer is shown: typing is chosen, or voice cannot go on and typing is
 * allowed (a voice.error always offers typing: the server said so with `fallback`). */
export function composerShown(state) {
  if (state.phase === "failed") return true;
  if (!voiceAllowed(state) || state.ended) return true;
  if (state.phase === "choosing") return false;
  if (state.mode === "text") return true;
  return textAllowed(state) && (state.phase === "refused" || state.phase === "unavailable");
}

/** What the voice status line says (an aria-live region: it changes with the phase). */
export function statusText(state) {
  const { phase } = state;
  if (phase === "connecting") return VOICE_TEXT.connecting;
  if (phase === "listening") {
    if (!state.micOn && !state.holding) return VOICE_TEXT.muted;
    return state.hearing ? VOICE_TEXT.hearing : VOICE_TEXT.listening;
  }
  if (phase === "thinking") return VOICE_TEXT.thinking;
  if (phase === "speaking") return VOICE_TEXT.speaking;
  if (phase === "requesting") return VOICE_TEXT.requesting;
  if (phase === "refused" || phase === "unavailable" || phase === "failed") {
    const text = VOICE_TEXT[state.reason] || VOICE_TEXT.failed;
    const typing = phase !== "refused" && !textAllowed(state) && phase !== "failed";
    return typing ? text.replace(VOICE_TEXT.typeInstead, "").trim() : text;
  }
  return "";
}

/** The browser's getUserMedia failure as a refusal reason. */
export function refusalOf(error) {
  const name = (error && error.name) || "";
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
    return REFUSALS.denied;
  }
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") {
    return REFUSALS.noDevice;
  }
  if (name === "NotReadableError" || name === "AbortError" || name === "TrackStartError") {
    return REFUSALS.busy;
  }
  return "failed";
}

function startVoice(state) {
  if (state.ended) return state;
  const phase = state.granted ? "connecting" : "explaining";
  return { ...state, mode: "voice", phase, reason: "", message: "", hearing: false, micOn: true };
}

function stopVoice(state, phase = "off") {
  return { ...state, phase, hearing: false, holding: false, output: null };
}

const FRAMES = {
  "voice.ready"(state, frame) {
    if (state.phase !== "connecting") return state;
    return { ...state, phase: "listening", output: frame.output || null };
  },
  "voice.state"(state, frame) {
    if (!isLive(state) || state.phase === "connecting" || !SERVER_STATES.has(frame.state)) {
      return state;
    }
    // Thinking: the respondent's turn is over, whatever speech.stopped said or didn't.
    const hearing = frame.state === "thinking" ? false : state.hearing;
    return { ...state, phase: frame.state, hearing };
  },
  "speech.started"(state) {
    return isLive(state) ? { ...state, hearing: true } : state;
  },
  "speech.stopped"(state) {
    return { ...state, hearing: false };
  },
  "transcript.partial"(state, frame) {
    return { ...state, captions: { ...state.captions, respondent: String(frame.text || "") } };
  },
  "transcript.final"(state, frame) {
    return { ...state, captions: { ...state.captions, respondent: String(frame.text || "") } };
  },
  "audio.started"(state) {
    return isLive(state) && state.phase !== "connecting" ? { ...state, phase: "speaking" } : state;
  },
  "playback.stop"(state) {
    // The respondent barged in: they are the one talking now.
    return state.phase === "speaking" ? { ...state, phase: "listening" } : state;
  },
  "voice.error"(state, frame) {
    const error = frame.error || {};
    return { ...stopVoice(state, "failed"), reason: "speechFailed", message: String(error.message || "") };
  },
};

const EVENTS = {
  "turn.started"(state, data) {
    if (data.turn_id === state.captions.turnId && !data.restart) return state;
    return { ...state, captions: { turnId: data.turn_id, interviewer: "", respondent: "" } };
  },
  "turn.delta"(state, data) {
    const { captions } = state;
    if (data.turn_id !== captions.turnId) {
      return { ...state, captions: { turnId: data.turn_id, interviewer: data.text, respondent: "" } };
    }
    return { ...state, captions: { ...captions, interviewer: captions.interviewer + data.text } };
  },
  "turn.completed"(state, data) {
    if (data.turn_id !== state.captions.turnId) return state;
    return { ...state, captions: { ...state.captions, interviewer: data.content } };
  },
};

const ACTIONS = {
  /** The public interview arrived: offer what it allows. */
  modes(state, { modes }) {
    const next = { ...state, modes };
    if (!modes.includes("voice")) return { ...next, mode: "text", phase: "off" };
    if (!modes.includes("text")) return startVoice(next); // voice only: start in voice
    return { ...next, phase: "choosing" };
  },
  choose(state, { mode }) {
    if (mode === "voice" && voiceAllowed(state)) return startVoice(state);
    return { ...stopVoice(state), mode: "text" };
  },
  /** The respondent read the explanation and asked for the browser's prompt. */
  allow(state) {
    return state.phase === "explaining" ? { ...state, phase: "requesting" } : state;
  },
  granted(state) {
    if (state.phase !== "requesting") return state;
    return { ...state, phase: "connecting", granted: true };
  },
  refused(state, { reason }) {
    if (state.phase !== "requesting" && !isLive(state)) return state;
    return { ...stopVoice(state, "refused"), reason, granted: reason === "denied" ? false : state.granted };
  },
  /** Voice cannot work on this page (no AudioWorklet, no WebSocket, not secure). */
  unavailable(state, { reason }) {
    return { ...stopVoice(state, "unavailable"), reason };
  },
  retry(state) {
    return state.phase === "refused" || state.phase === "failed" ? startVoice(state) : state;
  },
  toText(state) {
    return textAllowed(state) ? { ...stopVoice(state), mode: "text" } : state;
  },
  toVoice(state) {
    return voiceAllowed(state) ? startVoice(state) : state;
  },
  /** The talk toggle. */
  mic(state, { on }) {
    return { ...state, micOn: Boolean(on) };
  },
  hold(state, { on }) {
    return { ...state, holding: Boolean(on) };
  },
  /** The socket dropped: once it is back the server is asked for voice again. */
  disconnected(state) {
    return isLive(state) ? { ...state, phase: "connecting", hearing: false, output: null } : state;
  },
  ended(state) {
    return { ...stopVoice(state), ended: true };
  },
  /** The interviewer's turn on screen when voice mode came: its caption until the next. */
  caption(state, { turnId, text }) {
    if (state.captions.turnId) return state; // the stream has said more since
    return { ...state, captions: { turnId, interviewer: text, respondent: "" } };
  },
  frame(state, { frame }) {
    const handle = frame && FRAMES[frame.type];
    return handle ? handle(state, frame) : state;
  },
  event(state, { event, data }) {
    const handle = EVENTS[event];
    return handle ? handle(state, data || {}) : state;
  },
};

export function voiceReduce(state, action) {
  const handle = ACTIONS[action.type];
  if (!handle) throw new Error(`unknown voice action: ${action.type}`);
  return handle(state, action);
}

// ------------------------------------------------------------------ playback accounting

export const REPORT_EVERY_MS = 250;

/** The interviewer's audio, turn by turn, as the page plays it: which binary frames belong to
 * which turn, how much of each turn was heard, and the `playback` frames the server must get
 * (every ~250 ms of playing, the final value at once after a flush, `ended` when a turn's
 * audio has played out). The player reports progress per turn: {played_ms, received} where
 * `received` counts the messages it was given for that turn (chunks, and the end); it has
 * played out a turn when it says `idle` with every one of them received. */
export class PlaybackLog {
  constructor() {
    this.turns = new Map(); // turn_id -> {rate, posted, received, played, reported, ...}
    this.current = null; // the turn binary frames belong to (the last audio.started)
  }

  turn(turnId) {
    let turn = this.turns.get(turnId);
    if (!turn) {
      turn = { rate: 0, posted: 0, received: 0, played: 0, reported: 0, idle: false };
      Object.assign(turn, { serverEnded: false, stopped: false, ended: false });
      this.turns.set(turnId, turn);
    }
    return turn;
  }

  /** audio.started: frames from now on are this turn's (again, after a false interruption). */
  started(turnId, rate) {
    const turn = this.turn(turnId);
    Object.assign(turn, { rate, stopped: false, serverEnded: false, ended: false, idle: false });
    this.current = turnId;
  }

  /** A binary frame arrived: the turn to play it as, or null to drop it (a stopped turn's
   * audio still on its way, or audio before any audio.started). */
  audio() {
    const turn = this.current === null ? null : this.turns.get(this.current);
    if (!turn || turn.stopped || turn.ended) return null;
    turn.posted += 1;
    turn.idle = false;
    return { turnId: this.current, rate: turn.rate };
  }

  /** audio.ended: all of the turn's audio was sent. The player is told too (it plays what
   * its resampler holds back), and that message counts as one more chunk it must receive, so
   * the turn has played out only once the player has it and says it is idle after it. Whether
   * to tell the player (not for a stopped turn). */
  serverEnded(turnId) {
    const turn = this.turn(turnId);
    if (turn.stopped || turn.ended || turn.serverEnded) return false;
    turn.serverEnded = true;
    turn.posted += 1;
    turn.idle = false;
    return true;
  }

  /** The player's report for a turn: the `playback` frames to send for it now. */
  progress(turnId, { played_ms: playedMs, received, idle = false }) {
    const turn = this.turns.get(turnId);
    if (!turn || turn.stopped || turn.ended) return [];
    turn.played = Math.max(turn.played, Math.round(playedMs));
    turn.received = Math.max(turn.received, received);
    turn.idle = idle && turn.received >= turn.posted;
    const out = this.maybeEnded(turnId, turn);
    if (out.length) return out;
    if (turn.played - turn.reported >= REPORT_EVERY_MS) return [this.report(turnId, turn, false)];
    return [];
  }

  /** playback.stop: the turn is cut; nothing more of it is played (its frames still in
   * flight are dropped). Whether there was anything to flush. */
  stop(turnId) {
    const turn = this.turns.get(turnId);
    if (!turn || turn.stopped || turn.ended) return false;
    turn.stopped = true;
    return true;
  }

  /** The player flushed: the final value for the turn, sent at once. */
  flushed(turnId, playedMs) {
    const turn = this.turn(turnId);
    turn.stopped = true;
    if (playedMs !== undefined) turn.played = Math.max(turn.played, Math.round(playedMs));
    return this.report(turnId, turn, false);
  }

  /** Every turn still playing or queued (to flush when voice stops). */
  playing() {
    return [...this.turns].filter(([, t]) => !t.stopped && !t.ended).map(([id]) => id);
  }

  playedMs(turnId) {
    const turn = this.turns.get(turnId);
    return turn ? turn.played : 0;
  }

  maybeEnded(turnId, turn) {
    if (turn.ended || turn.stopped || !turn.serverEnded || !turn.idle) return [];
    if (turn.received < turn.posted) return [];
    turn.ended = true;
    return [this.report(turnId, turn, true)];
  }

  report(turnId, turn, ended) {
    turn.reported = turn.played;
    return { type: "playback", turn_id: turnId, played_ms: turn.played, ended };
  }
}
