// The respondent page's conversation reducer (static/respondent/conversation.js), DOM-free.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  TEXT,
  canSend,
  compareIds,
  endsStream,
  initial,
  reduce,
} from "../../static/respondent/conversation.js";

let seq = 0;
const ev = (event, data, id = `1700000000000-${(seq += 1)}`) => ({ type: "event", id, event, data });
const run = (state, ...actions) => actions.reduce(reduce, state);
const live = (session = {}) =>
  run(initial(), { type: "begin", session: { status: "active", messages: [], ...session } });
const texts = (state) => state.messages.map((m) => [m.role, m.text]);
const said = (id, content, clientId) =>
  ev("respondent.message", { message_id: id, content, client_message_id: clientId });
const failed = (status, message) =>
  ({ type: "sendFailed", clientId: "c1", content: "Mine", status, message });
const delta = (text, turn = "t1") => ev("turn.delta", { turn_id: turn, text });

test("deltas append to their turn, completed finalizes it and hands over", () => {
  let s = run(live(), ev("turn.started", { turn_id: "t1", item_id: null }), delta("Hi, "));
  assert.equal(s.turnOpen, true);
  assert.equal(canSend(s), false);
  assert.equal(s.messages[0].streaming, true);
  s = run(s, ev("turn.delta", { turn_id: "t1", text: "there" }));
  assert.deepEqual(texts(s), [["interviewer", "Hi, there"]]);
  s = run(s, ev("turn.completed", { turn_id: "t1", content: "Hi, there!", item_id: "Q1" }));
  assert.deepEqual(texts(s), [["interviewer", "Hi, there!"]]);
  assert.equal(s.messages[0].streaming, false);
  assert.equal(s.messages[0].itemId, "Q1");
  assert.equal(s.awaiting, "respondent");
  assert.equal(canSend(s), true);
  // A delta for a completed turn (a replay overlapping) changes nothing.
  assert.deepEqual(texts(run(s, ev("turn.delta", { turn_id: "t1", text: "again" }))), texts(s));
});

test("a restarted turn replaces what was shown instead of continuing it", () => {
  let s = run(
    live(),
    ev("turn.started", { turn_id: "t1" }),
    ev("turn.delta", { turn_id: "t1", text: "Hello, and wel" }),
    ev("turn.started", { turn_id: "t1", restart: true }),
  );
  assert.deepEqual(texts(s), [["interviewer", ""]]);
  assert.equal(s.turnOpen, true);
  s = run(s, ev("turn.delta", { turn_id: "t1", text: "Hi, thanks" }));
  assert.deepEqual(texts(s), [["interviewer", "Hi, thanks"]]);
  // Without restart, a second turn.started keeps the text (recovery continues the turn).
  const kept = run(s, ev("turn.started", { turn_id: "t1", restart: false }));
  assert.deepEqual(texts(kept), [["interviewer", "Hi, thanks"]]);
});

test("events already seen (by id) are skipped, later ones applied", () => {
  const first = ev("turn.started", { turn_id: "t1" }, "1700000000005-0");
  const delta = ev("turn.delta", { turn_id: "t1", text: "a" }, "1700000000005-1");
  let s = run(live(), first, delta, delta, { ...delta, id: "1700000000004-9" });
  assert.deepEqual(texts(s), [["interviewer", "a"]]);
  assert.equal(s.lastEventId, "1700000000005-1");
  s = run(s, ev("turn.delta", { turn_id: "t1", text: "b" }, "1700000000010-0"));
  assert.deepEqual(texts(s), [["interviewer", "ab"]]);
  assert.ok(compareIds("10-0", "9-5") > 0 && compareIds("9-5", "9-10") < 0 && compareIds("3", "3-0") === 0);
});

test("unknown event types change nothing, not even the resume point", () => {
  const s = live();
  assert.equal(run(s, ev("voice.something", {})), s);
});

test("coverage.updated after a turn is ignored: the turn stays done, the answer is owed", () => {
  const s = run(live(), ev("turn.completed", { turn_id: "t1", content: "Q?", item_id: "Q1" }));
  const coverage = { turn_id: "t1", answered: 0, total: 1, share: 0, required_open: 1, items: [] };
  assert.equal(run(s, ev("coverage.updated", coverage)), s);
  assert.equal(canSend(s), true);
});

test("a sent answer waits as pending until the stream shows it, matched by client id", () => {
  let s = run(live(), ev("turn.completed", { turn_id: "t1", content: "Q?" }));
  s = run(s, { type: "send", content: "Mine", clientId: "c1" });
  assert.equal(s.sending, true);
  assert.equal(canSend(s), false);
  assert.deepEqual(s.messages[1], {
    key: "client:c1",
    role: "respondent",
    text: "Mine",
    clientMessageId: "c1",
    pending: true,
    streaming: false,
    done: true,
  });
  s = run(s, { type: "sent", clientId: "c1" });
  assert.equal(canSend(s), false, "still pending: not seen on the stream yet");
  s = run(s, said("m1", "Mine", "c1"));
  assert.equal(s.messages.length, 2);
  assert.equal(s.messages[1].key, "client:c1"); // the same bubble, now confirmed
  assert.equal(s.messages[1].pending, false);
  assert.equal(s.messages[1].messageId, "m1");
  assert.equal(s.awaiting, "interviewer");
  // The same message again (a replay) makes no second bubble.
  s = run(s, said("m1", "Mine", "c1"));
  assert.equal(s.messages.length, 2);
});

test("a failed send is taken back; only a lost connection keeps its id for the resend", () => {
  const ready = run(live(), ev("turn.completed", { turn_id: "t1", content: "Q?" }));
  const sending = run(ready, { type: "send", content: "Mine", clientId: "c1" });
  const refused = run(sending, failed(409, "Busy"));
  assert.deepEqual(texts(refused), [["interviewer", "Q?"]]);
  assert.equal(refused.error, "Busy");
  assert.equal(refused.unsent, null);
  assert.equal(canSend(refused), true);

  const offline = run(sending, failed(0, TEXT.sendFailed));
  assert.deepEqual(offline.unsent, { content: "Mine", clientId: "c1" });
  // It had arrived after all: the stream says so, the error goes.
  const arrived = run(offline, said("m1", "Mine", "c1"));
  assert.equal(arrived.unsent, null);
  assert.equal(arrived.error, "");

  const revoked = run(sending, failed(401, "No"));
  assert.equal(revoked.lost, true);
  assert.equal(revoked.ended, true);
  assert.equal(revoked.notice.text, TEXT.sessionLost);
});

test("the end of a session, by each reason, says so and stops the composer", () => {
  const cases = [
    ["finished", "finished", TEXT.finished],
    ["ended_by_respondent", "ended", TEXT.endedByYou],
    ["interviewer_failed", "ended", TEXT.ended],
    ["idle_timeout", "abandoned", TEXT.abandoned],
  ];
  for (const [reason, kind, text] of cases) {
    const s = run(live(), ev("turn.started", { turn_id: "t1" }), ev("session.completed", { reason }));
    assert.deepEqual(s.notice, { kind, text }, reason);
    assert.equal(s.ended, true);
    assert.equal(s.turnOpen, false);
    assert.equal(canSend(s), false);
  }
  const abandoned = run(live(), ev("session.state", { status: "abandoned", reason: "idle_timeout" }));
  assert.equal(abandoned.notice.kind, "abandoned");
  const active = run(live(), ev("session.state", { status: "active" }));
  assert.equal(active.ended, false);
  assert.equal(active.status, "active");
  assert.equal(run(live(), ev("session.deleted", {})).lost, true);
});

test("which events end their stream", () => {
  assert.equal(endsStream({ event: "session.completed", data: {} }), true);
  assert.equal(endsStream({ event: "session.deleted", data: {} }), true);
  assert.equal(endsStream({ event: "session.state", data: { status: "abandoned" } }), true);
  assert.equal(endsStream({ event: "session.state", data: { status: "active" } }), false);
  assert.equal(endsStream({ event: "turn.completed", data: {} }), false);
});

test("ending: requested, refused, or confirmed without a stream", () => {
  const ready = run(live(), ev("turn.completed", { turn_id: "t1", content: "Q?" }));
  const asked = run(ready, { type: "endRequested" });
  assert.equal(canSend(asked), false);
  assert.equal(run(asked, { type: "endFailed", message: "" }).error, TEXT.endFailed);
  assert.equal(run(asked, { type: "endFailed", message: "" }).endRequested, false);
  const here = run(asked, { type: "endedHere" });
  assert.deepEqual(here.notice, { kind: "ended", text: TEXT.endedByYou });
});

test("an ended session at start shows its end; a pending bubble stops waiting", () => {
  const s = live({ status: "completed" });
  assert.equal(s.ended, true);
  assert.equal(s.notice.kind, "finished");
  const abandoned = live({ status: "abandoned" });
  assert.equal(abandoned.notice.kind, "abandoned");
  const asked = ev("turn.completed", { turn_id: "t1", content: "Q" });
  const pending = run(live(), asked, { type: "send", content: "A", clientId: "c" });
  const ended = run(pending, ev("session.completed", { reason: "finished" }));
  assert.equal(ended.messages[1].pending, false);
});

test("the start response's messages show only when the stream gave nothing", () => {
  const messages = [
    { id: "m0", role: "interviewer", turn_id: "t1", content: "Q1?" },
    { id: "m1", role: "respondent", content: "A1" },
    { id: "m2", role: "interviewer", turn_id: "t2", content: "Q2?" },
  ];
  const shown = run(live({ messages }), { type: "fallback" });
  assert.deepEqual(texts(shown), [["interviewer", "Q1?"], ["respondent", "A1"], ["interviewer", "Q2?"]]);
  assert.equal(shown.messages[0].turnId, "t1");
  assert.equal(shown.awaiting, "respondent");
  assert.equal(run(shown, { type: "fallback" }), shown, "once");
  const streamed = run(live({ messages }), ev("turn.started", { turn_id: "t1" }), { type: "fallback" });
  assert.deepEqual(texts(streamed), [["interviewer", ""]]);
});

test("before a session: info, not found, unavailable, refused, failed", () => {
  const info = run(initial(), { type: "info", info: { title: "Study", language: "fr", anonymous: true } });
  assert.deepEqual(
    [info.title, info.documentTitle, info.language, info.direction, info.anonymous],
    ["Study", "Study", "fr", "ltr", true],
  );
  const hebrew = run(initial(), { type: "info", info: { title: "מחקר", language: "he", direction: "rtl" } });
  assert.equal(hebrew.direction, "rtl");
  const odd = run(initial(), { type: "info", info: { title: "x", language: "en", direction: "sideways" } });
  assert.equal(odd.direction, "ltr", "only rtl or ltr ever reaches the DOM");
  const missing = run(initial(), { type: "notFound" });
  assert.deepEqual([missing.title, missing.notice.kind], ["Interview not found", "not-found"]);
  assert.equal(run(initial(), { type: "unavailable", status: "paused" }).notice.text, TEXT.paused);
  assert.equal(run(initial(), { type: "unavailable", status: "closed" }).notice.kind, "closed");
  assert.equal(run(initial(), { type: "unavailable", status: "draft" }).notice.kind, "draft");
  assert.equal(run(initial(), { type: "refused", message: "Paused now" }).notice.text, "Paused now");
  const broken = run(initial(), { type: "failed" });
  assert.deepEqual(
    [broken.title, broken.documentTitle, broken.notice.text],
    ["Interview", null, TEXT.failed],
  );
  assert.equal(run(info, { type: "failed" }).title, "Study");
  assert.equal(canSend(info), false);
  assert.equal(info.live, false);
});

test("connection trouble shows once and clears only its own notice", () => {
  const s = run(live(), { type: "trouble" });
  assert.equal(s.notice.text, TEXT.reconnecting);
  assert.equal(run(s, { type: "connected" }).notice, null);
  const done = ev("session.completed", { reason: "finished" });
  const ended = run(live(), done, { type: "trouble" }, { type: "connected" });
  assert.equal(ended.notice.kind, "finished");
});

test("reducing never mutates the state it is given", () => {
  const before = run(live(), ev("turn.started", { turn_id: "t1" }));
  const frozen = JSON.stringify(before);
  const completed = ev("turn.completed", { turn_id: "t1", content: "x" });
  run(before, delta("x"), completed, { type: "send", content: "a", clientId: "c" });
  assert.equal(JSON.stringify(before), frozen);
});

test("an unknown action is a bug, not a silent no-op", () => {
  assert.throws(() => reduce(initial(), { type: "nope" }), /unknown action/);
});

test("every error shown counts, so the same text again is announced again", () => {
  const once = run(live(), { type: "empty" });
  const twice = run(once, { type: "empty" });
  assert.equal(twice.error, TEXT.empty);
  assert.equal(twice.errors, once.errors + 1);
});
