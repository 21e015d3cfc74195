// Voice mode as data (static/respondent/voice.js): the state machine from the talk-or-type
// choice through the microphone step to listening / thinking / speaking and back to text,
// the server's voice frames as state changes, and the playback queue's accounting.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  PlaybackLog,
  REPORT_EVERY_MS,
  VOICE_TEXT,
  composerShown,
  isLive,
  modesOf,
  refusalOf,
  sending,
  statusText,
  voiceInitial,
  voiceReduce,
} from "../../static/respondent/voice.js";

const run = (actions, state = voiceInitial()) => actions.reduce(voiceReduce, state);
const frame = (type, fields = {}) => ({ type: "frame", frame: { type, ...fields } });
const READY = frame("voice.ready", { output: { sample_rate: 24000, encoding: "pcm_s16le", channels: 1 } });
const both = { type: "modes", modes: ["text", "voice"] };

/** Both modes, voice chosen, the microphone allowed and the server ready. */
function listening() {
  return run([both, { type: "choose", mode: "voice" }, { type: "allow" }, { type: "granted" }, READY]);
}

test("modes absent or empty mean text; unknown ones are ignored", () => {
  assert.deepEqual(modesOf({}), ["text"]);
  assert.deepEqual(modesOf({ modes: [] }), ["text"]);
  assert.deepEqual(modesOf({ modes: ["voice", "video"] }), ["voice"]);
  assert.deepEqual(modesOf({ modes: ["voice", "text"] }), ["text", "voice"]);
  assert.deepEqual(modesOf(null), ["text"]);
});

test("text only: no voice at all, the composer as ever", () => {
  const state = run([{ type: "modes", modes: ["text"] }]);
  assert.equal(state.phase, "off");
  assert.equal(composerShown(state), true);
  assert.equal(statusText(state), "");
  // Nothing in voice can be asked for.
  assert.equal(run([{ type: "toVoice" }], state).phase, "off");
  assert.equal(run([{ type: "choose", mode: "voice" }], state).phase, "off");
});

test("both modes: a choice first; typing is the composer, talking explains the microphone", () => {
  const choosing = run([both]);
  assert.equal(choosing.phase, "choosing");
  assert.equal(composerShown(choosing), false);
  const typed = run([{ type: "choose", mode: "text" }], choosing);
  assert.deepEqual([typed.mode, typed.phase, composerShown(typed)], ["text", "off", true]);
  const talked = run([{ type: "choose", mode: "voice" }], choosing);
  assert.deepEqual([talked.mode, talked.phase, composerShown(talked)], ["voice", "explaining", false]);
  assert.equal(isLive(talked), false, "no microphone before the respondent asks for it");
});

test("off → asking permission → listening → thinking → speaking → listening", () => {
  let state = run([both, { type: "choose", mode: "voice" }, { type: "allow" }]);
  assert.equal(state.phase, "requesting");
  assert.equal(statusText(state), VOICE_TEXT.requesting);
  state = run([{ type: "granted" }], state);
  assert.deepEqual([state.phase, state.granted, isLive(state)], ["connecting", true, true]);
  assert.equal(sending(state), false, "no frames before voice.ready");
  state = run([READY], state);
  assert.equal(state.phase, "listening");
  assert.equal(state.output.sample_rate, 24000);
  assert.equal(sending(state), true);
  assert.equal(statusText(state), VOICE_TEXT.listening);
  state = run([frame("speech.started", { at_ms: 120 })], state);
  assert.equal(statusText(state), VOICE_TEXT.hearing);
  state = run([frame("voice.state", { state: "thinking" })], state);
  assert.deepEqual([state.phase, state.hearing], ["thinking", false]);
  assert.equal(statusText(state), VOICE_TEXT.thinking);
  state = run([frame("audio.started", { turn_id: "t2", sample_rate: 24000, kind: "turn" })], state);
  assert.equal(state.phase, "speaking");
  assert.equal(sending(state), true, "the microphone stays open while it speaks: barge-in");
  state = run([frame("voice.state", { state: "listening" })], state);
  assert.equal(state.phase, "listening");
  // A state the page doesn't know changes nothing.
  assert.equal(run([frame("voice.state", { state: "dreaming" })], state).phase, "listening");
});

test("voice only starts in voice, and a refusal there offers no typing", () => {
  let state = run([{ type: "modes", modes: ["voice"] }]);
  assert.deepEqual([state.mode, state.phase], ["voice", "explaining"]);
  assert.equal(composerShown(state), false);
  state = run([{ type: "allow" }, { type: "refused", reason: "denied" }], state);
  assert.equal(state.phase, "refused");
  assert.equal(composerShown(state), false);
  assert.equal(statusText(state), VOICE_TEXT.denied);
  assert.equal(run([{ type: "toText" }], state).mode, "voice", "no text to switch to");
  state = run([{ type: "retry" }], state);
  assert.equal(state.phase, "explaining", "a blocked microphone was never granted: explain again");
});

test("a refusal says how to fix it, and typing stays when it is allowed", () => {
  for (const [name, reason] of [
    ["NotAllowedError", "denied"],
    ["SecurityError", "denied"],
    ["NotFoundError", "noDevice"],
    ["NotReadableError", "busy"],
    ["TypeError", "failed"],
  ]) {
    assert.equal(refusalOf({ name }), reason, name);
  }
  assert.equal(refusalOf(undefined), "failed");
  const state = run([both, { type: "choose", mode: "voice" }, { type: "allow" }, { type: "refused", reason: "noDevice" }]);
  assert.equal(state.phase, "refused");
  assert.equal(statusText(state), VOICE_TEXT.noDevice);
  assert.equal(composerShown(state), true);
  assert.equal(isLive(state), false);
  // A refusal that arrives when nothing was asked (a late answer) changes nothing.
  assert.equal(run([{ type: "refused", reason: "denied" }], run([both])).phase, "choosing");
});

test("a browser that can't record: unavailable, said plainly, typing stays", () => {
  const state = run([both, { type: "choose", mode: "voice" }, { type: "unavailable", reason: "noSocket" }]);
  assert.equal(state.phase, "unavailable");
  assert.equal(statusText(state), VOICE_TEXT.noSocket);
  assert.equal(composerShown(state), true);
  const spoken = run([{ type: "modes", modes: ["voice"] }, { type: "unavailable", reason: "unsupported" }]);
  assert.equal(statusText(spoken), "This browser can't record audio here.", "no typing to offer");
  assert.equal(composerShown(spoken), false);
});

test("switch to text at any time and back: no second explanation once allowed", () => {
  let state = run([frame("voice.state", { state: "speaking" })], listening());
  state = run([{ type: "toText" }], state);
  assert.deepEqual([state.mode, state.phase, isLive(state), composerShown(state)], ["text", "off", false, true]);
  state = run([{ type: "toVoice" }], state);
  assert.deepEqual([state.mode, state.phase], ["voice", "connecting"]);
  assert.equal(run([READY], state).phase, "listening");
  // Frames for the voice that was stopped are ignored once off.
  const off = run([{ type: "toText" }], state);
  assert.equal(run([frame("voice.state", { state: "speaking" }), READY], off).phase, "off");
});

test("the talk toggle and hold-Space: frames only while on or held", () => {
  let state = listening();
  assert.equal(state.micOn, true);
  state = run([{ type: "mic", on: false }], state);
  assert.equal(sending(state), false);
  assert.equal(statusText(state), VOICE_TEXT.muted);
  state = run([{ type: "hold", on: true }], state);
  assert.equal(sending(state), true);
  assert.equal(statusText(state), VOICE_TEXT.listening);
  state = run([{ type: "hold", on: false }], state);
  assert.equal(sending(state), false);
  // Choosing voice again turns the microphone back on.
  assert.equal(run([{ type: "toText" }, { type: "toVoice" }], state).micOn, true);
});

test("captions: the interviewer's turn as it streams, the respondent's partial transcript", () => {
  let state = listening();
  const event = (name, data) => ({ type: "event", event: name, data });
  state = run([event("turn.started", { turn_id: "t2" }), event("turn.delta", { turn_id: "t2", text: "Which " })], state);
  state = run([event("turn.delta", { turn_id: "t2", text: "plan?" })], state);
  assert.equal(state.captions.interviewer, "Which plan?");
  state = run([frame("transcript.partial", { text: "The pro" })], state);
  assert.equal(state.captions.respondent, "The pro");
  state = run([frame("transcript.final", { text: "The pro plan.", message_id: "m1" })], state);
  assert.equal(state.captions.respondent, "The pro plan.");
  state = run([event("turn.completed", { turn_id: "t2", content: "Which plan are you on?" })], state);
  assert.equal(state.captions.interviewer, "Which plan are you on?");
  // The next turn starts afresh; a restarted one too.
  state = run([event("turn.started", { turn_id: "t3" })], state);
  assert.deepEqual(state.captions, { turnId: "t3", interviewer: "", respondent: "" });
  state = run([event("turn.delta", { turn_id: "t3", text: "Hel" }), event("turn.started", { turn_id: "t3", restart: true })], state);
  assert.equal(state.captions.interviewer, "");
  // A late delta of an older turn doesn't glue onto the current one.
  state = run([event("turn.delta", { turn_id: "t3", text: "Hi" }), event("turn.completed", { turn_id: "t2", content: "old" })], state);
  assert.equal(state.captions.interviewer, "Hi");
});

test("the turn already on screen when voice came is the caption until the stream says more", () => {
  let state = run([{ type: "caption", turnId: "t1", text: "Hi! What do you use it for?" }], listening());
  assert.deepEqual(state.captions, { turnId: "t1", interviewer: "Hi! What do you use it for?", respondent: "" });
  state = run([{ type: "event", event: "turn.started", data: { turn_id: "t2" } }], state);
  assert.equal(run([{ type: "caption", turnId: "t1", text: "old" }], state).captions.turnId, "t2");
});

test("voice.error: voice stops, the respondent is told to type, and can", () => {
  const error = frame("voice.error", {
    error: { code: "speech_failed", message: "recognition failed" },
    fallback: "text",
  });
  const state = run([frame("voice.state", { state: "thinking" }), error], listening());
  assert.equal(state.phase, "failed");
  assert.equal(isLive(state), false);
  assert.equal(statusText(state), VOICE_TEXT.speechFailed);
  assert.equal(state.message, "recognition failed");
  assert.equal(composerShown(state), true);
  // Voice only: the server still offers typing after a failure.
  const spoken = run([{ type: "modes", modes: ["voice"] }, { type: "allow" }, { type: "granted" }, READY, error]);
  assert.equal(composerShown(spoken), true);
  assert.equal(run([{ type: "retry" }], spoken).phase, "connecting");
});

test("a dropped socket waits for voice.ready again; the end of the conversation ends voice", () => {
  let state = run([{ type: "disconnected" }], listening());
  assert.equal(state.phase, "connecting");
  assert.equal(sending(state), false);
  state = run([READY, { type: "ended" }], state);
  assert.deepEqual([state.phase, state.ended, isLive(state)], ["off", true, false]);
  assert.equal(composerShown(state), true); // the conversation's own view disables it
  assert.equal(run([{ type: "toVoice" }], state).phase, "off");
  assert.equal(run([{ type: "disconnected" }], run([both])).phase, "choosing");
});

test("unknown actions are a bug", () => {
  assert.throws(() => voiceReduce(voiceInitial(), { type: "nope" }), /unknown voice action/);
});

// ------------------------------------------------------------------ playback accounting

test("playback: played_ms every ~250 ms, then ended once the player has everything played", () => {
  const log = new PlaybackLog();
  assert.equal(log.audio(), null, "audio before any audio.started is dropped");
  log.started("t2", 24000);
  for (let i = 0; i < 3; i += 1) assert.deepEqual(log.audio(), { turnId: "t2", rate: 24000 });
  const sent = [];
  const report = (played, received, idle = false) =>
    sent.push(...log.progress("t2", { played_ms: played, received, idle }));
  report(50, 1);
  report(200, 2);
  assert.deepEqual(sent, [], "under 250 ms since the last report");
  report(260.4, 3);
  assert.deepEqual(sent, [{ type: "playback", turn_id: "t2", played_ms: 260, ended: false }]);
  report(400, 3, true); // an underrun: played out what it had, but the turn isn't over
  assert.equal(sent.length, 1);
  assert.equal(log.serverEnded("t2"), true, "the player is told the turn's audio is all sent");
  assert.equal(log.serverEnded("t2"), false, "once");
  report(520, 3, true); // idle, but from before it got the end
  assert.equal(sent.length, 2);
  assert.deepEqual(sent[1], { type: "playback", turn_id: "t2", played_ms: 520, ended: false });
  report(600, 4, true);
  assert.deepEqual(sent[2], { type: "playback", turn_id: "t2", played_ms: 600, ended: true });
  report(700, 4, true);
  assert.equal(sent.length, 3, "ended is said once; nothing after it");
  assert.equal(log.audio(), null, "a finished turn's stray audio is dropped");
  assert.equal(REPORT_EVERY_MS, 250);
});

test("playback.stop: the queue is flushed, the final value sent at once, later audio dropped", () => {
  const log = new PlaybackLog();
  log.started("t3", 24000);
  log.audio();
  log.audio();
  log.progress("t3", { played_ms: 300, received: 2 });
  assert.deepEqual(log.playing(), ["t3"]);
  assert.equal(log.stop("t3"), true);
  assert.equal(log.stop("t3"), false, "stopped once");
  assert.equal(log.audio(), null, "frames still on their way are not played");
  assert.deepEqual(log.progress("t3", { played_ms: 900, received: 2 }), []);
  assert.deepEqual(log.flushed("t3", 412.6), { type: "playback", turn_id: "t3", played_ms: 413, ended: false });
  assert.equal(log.serverEnded("t3"), false, "a stopped turn's end is not played");
  assert.deepEqual(log.playing(), []);
  // Without the player's word (it never answered): what it last reported.
  const quiet = new PlaybackLog();
  quiet.started("t4", 24000);
  quiet.progress("t4", { played_ms: 120, received: 0 });
  assert.deepEqual(quiet.flushed("t4"), { type: "playback", turn_id: "t4", played_ms: 120, ended: false });
  assert.equal(quiet.playedMs("t4"), 120);
  assert.equal(quiet.playedMs("t9"), 0);
});

test("a turn resumed after a false interruption keeps counting what was heard", () => {
  const log = new PlaybackLog();
  log.started("t5", 24000);
  log.audio();
  log.progress("t5", { played_ms: 280, received: 1 });
  log.stop("t5");
  log.flushed("t5", 300);
  log.started("t5", 24000); // the server carries on with the same turn
  assert.deepEqual(log.audio(), { turnId: "t5", rate: 24000 });
  const sent = log.progress("t5", { played_ms: 560, received: 2 });
  assert.deepEqual(sent, [{ type: "playback", turn_id: "t5", played_ms: 560, ended: false }]);
  assert.equal(log.playedMs("t5"), 560);
  // A new turn takes the frames from then on.
  log.started("t6", 16000);
  assert.deepEqual(log.audio(), { turnId: "t6", rate: 16000 });
});
