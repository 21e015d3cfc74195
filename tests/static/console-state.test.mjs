// The console's state (static/console/state.js): the sessions list kept by the live feed, a
// transcript built from a session's events, coverage and answer distributions filling in.
import assert from "node:assert/strict";
import { test } from "node:test";

import * as state from "../../static/console/state.js";

const T0 = "2026-01-01T00:00:00Z";
const view = (id, status = "in_progress", created = T0) => ({ id, status, is_test: false, created_at: created, last_activity_at: created, current_item_id: null });

test("the feed keeps the sessions list: started, progress, writing, ended, erased", () => {
  let sessions = state.withSessions(new Map(), [view("ses_a", "in_progress", "2026-01-01T00:00:01Z"), view("ses_old", "completed")]);
  assert.deepEqual([...sessions.keys()], ["ses_a", "ses_old"], "newest first");
  sessions = state.applyFeedEvent(sessions, "session.started", { session_id: "ses_b", interview_id: "int" }, undefined, "2026-01-01T00:00:05Z");
  assert.deepEqual([...sessions.keys()], ["ses_b", "ses_a", "ses_old"], "a new session goes on top");
  sessions = state.applyFeedEvent(sessions, "turn.started", { session_id: "ses_b", turn_id: "t1" });
  assert.equal(sessions.get("ses_b").writing, true);
  assert.equal(state.progressLabel(sessions.get("ses_b")), "starting");
  sessions = state.applyFeedEvent(sessions, "turn.completed", { session_id: "ses_b", turn_id: "t1", content: "Hi", item_id: "Q1" });
  assert.equal(sessions.get("ses_b").writing, false);
  assert.equal(sessions.get("ses_b").currentItemId, "Q1");
  sessions = state.applyFeedEvent(sessions, "coverage.updated", { session_id: "ses_b", answered: 1, total: 3, share: 0.33, items: [] });
  assert.equal(state.progressLabel(sessions.get("ses_b")), "1 of 3 items");
  assert.deepEqual(state.liveSessions(sessions).map((r) => r.id), ["ses_b", "ses_a"]);
  sessions = state.applyFeedEvent(sessions, "session.completed", { session_id: "ses_b", reason: "finished" });
  assert.deepEqual(state.finishedSessions(sessions).map((r) => r.id), ["ses_b", "ses_old"]);
  sessions = state.applyFeedEvent(sessions, "session.deleted", { session_id: "ses_old" });
  assert.equal(sessions.has("ses_old"), false);
  const before = sessions;
  assert.equal(state.applyFeedEvent(sessions, "something.new", { session_id: "ses_a" }), before, "unknown types change nothing");
  // The list refreshed later keeps what the feed taught (progress), takes its status.
  sessions = state.withSessions(sessions, [view("ses_b", "completed", "2026-01-01T00:00:05Z")]);
  assert.equal(sessions.get("ses_b").answered, 1);
});

test("steering and notes are counted per session", () => {
  let sessions = state.withSessions(new Map(), [view("ses_a")]);
  sessions = state.applyFeedEvent(sessions, "steer.queued", { session_id: "ses_a", steer_id: "s1", mode: "now", instruction: "x" });
  sessions = state.applyFeedEvent(sessions, "note.added", { session_id: "ses_a", note_id: "n1", kind: "note", message_id: null, body: "b" });
  assert.equal(sessions.get("ses_a").steering, 1);
  sessions = state.applyFeedEvent(sessions, "steer.applied", { session_id: "ses_a", steer_id: "s1", turn_id: "t2" });
  assert.equal(sessions.get("ses_a").steering, 0);
  assert.equal(sessions.get("ses_a").notes, 1);
});

test("a transcript streams turn by turn; a restart replaces the turn; replays add nothing twice", () => {
  let t = state.emptyTranscript();
  const apply = (type, data) => (t = state.applyTranscriptEvent(t, type, data));
  apply("turn.started", { turn_id: "t1", item_id: null });
  apply("turn.delta", { turn_id: "t1", text: "Hel" });
  apply("turn.delta", { turn_id: "t1", text: "lo" });
  assert.equal(t.messages[0].content, "Hello");
  assert.equal(t.messages[0].streaming, true);
  apply("turn.started", { turn_id: "t1", item_id: null, restart: true });
  assert.equal(t.messages.length, 1);
  assert.equal(t.messages[0].content, "", "a restart starts the turn over");
  apply("turn.delta", { turn_id: "t1", text: "Hi!" });
  apply("turn.completed", { turn_id: "t1", content: "Hi! What do you use it for?", item_id: "Q1" });
  assert.deepEqual([t.messages[0].content, t.messages[0].streaming, t.messages[0].author], ["Hi! What do you use it for?", false, "ai"]);
  apply("respondent.message", { message_id: "msg_1", content: "Planning", client_message_id: "c" });
  apply("respondent.message", { message_id: "msg_1", content: "Planning", client_message_id: "c" });
  assert.equal(t.messages.length, 2);
  assert.equal(t.messages[1].messageId, "msg_1");
  // A researcher's own turn (takeover) is labelled so.
  apply("turn.completed", { turn_id: "t2", content: "Tell me more.", item_id: null, author: "researcher" });
  assert.equal(t.messages[2].author, "researcher");
  apply("steer.queued", { steer_id: "st1", mode: "next_turn", instruction: "Ask about price" });
  apply("steer.applied", { steer_id: "st1", turn_id: "t3" });
  assert.deepEqual(t.steering, [{ id: "st1", instruction: "Ask about price", mode: "next_turn", status: "applied", turnId: "t3" }]);
  apply("turn.started", { turn_id: "t3", item_id: null });
  apply("session.completed", { reason: "finished" });
  assert.equal(t.ended, true);
  assert.equal(t.messages.every((m) => !m.streaming), true, "nothing streams once the session ended");
});

test("notes from the list and from the feed meet once, each on its message", () => {
  let t = state.transcriptFromView({
    status: "completed",
    messages: [
      { id: "msg_i", role: "interviewer", content: "Q?", turn_id: "t1" },
      { id: "msg_r", role: "respondent", content: "A.", turn_id: null },
    ],
  });
  assert.equal(t.ended, true);
  assert.equal(t.messages[0].messageId, "msg_i");
  t = state.applyTranscriptEvent(t, "note.added", { note_id: "n2", kind: "bookmark", message_id: "msg_r", body: "" });
  t = state.withNotes(t, [
    { id: "n2", kind: "bookmark", message_id: "msg_r", body: "" },
    { id: "n1", kind: "note", message_id: null, body: "overall" },
  ]);
  assert.deepEqual(t.notes.map((n) => n.id), ["n1", "n2"], "oldest first, each once");
  assert.deepEqual(state.notesOn(t, "msg_r").map((n) => n.id), ["n2"]);
  assert.deepEqual(state.notesOn(t, null).map((n) => n.id), ["n1"]);
});

test("coverage fills in from coverage.updated; distributions become shares", () => {
  let c = state.coverageFromView({
    answered: 0,
    total: 2,
    share: 0,
    items: [
      { item_id: "Q1", status: "asked", value: null, required: true },
      { item_id: "Q2", status: "not_started", value: null, required: false },
    ],
  });
  c = state.applyCoverage(c, { answered: 1, total: 2, share: 0.5, items: [{ item_id: "Q1", status: "answered", value: "Pro" }] });
  assert.deepEqual(c.items.map((i) => [i.itemId, i.status, i.value]), [["Q1", "answered", "Pro"], ["Q2", "not_started", null]]);
  assert.equal(c.items[0].required, true, "what the event does not say is kept");
  assert.equal(c.answered, 1);
  const rows = state.distributionRows({
    items: [
      {
        item_id: "Q2",
        text: "Which plan?",
        question_type: "multiple_choice",
        sessions: 4,
        statuses: { answered: 2, probed: 1 },
        distribution: { values: [{ value: "Pro", count: 3 }, { value: "Free", count: 1 }], unresolved: 0, mean: null },
      },
      { item_id: "Q1", text: "Open", question_type: "open_ended", sessions: 4, statuses: { answered: 1 }, distribution: null },
    ],
  });
  assert.deepEqual(rows[0].bars, [{ value: "Pro", count: 3, share: 0.75 }, { value: "Free", count: 1, share: 0.25 }]);
  assert.equal(rows[0].answered, 3);
  assert.deepEqual(rows[1].bars, []);
});

test("a ticket is renewed at two thirds of its life, never sooner than a second", () => {
  const now = Date.parse(T0);
  assert.equal(state.renewDelay(now, "2026-01-01T00:15:00Z"), 600000);
  assert.equal(state.renewDelay(now, T0), 1000);
});

test("a takeover makes the turns that follow the researcher's, until the handback", () => {
  let t = state.emptyTranscript();
  const apply = (type, data) => (t = state.applyTranscriptEvent(t, type, data));
  apply("turn.started", { turn_id: "t1", item_id: null });
  apply("turn.completed", { turn_id: "t1", content: "Hi", item_id: null });
  apply("session.takeover", { taken_over_by: "key_1" });
  assert.equal(t.takenOver, true);
  apply("turn.started", { turn_id: "t2", item_id: null });
  apply("turn.completed", { turn_id: "t2", content: "Tell me more, from me.", item_id: null });
  apply("session.handback", { turn_owed: false });
  apply("turn.started", { turn_id: "t3", item_id: null });
  assert.deepEqual(t.messages.map((m) => m.author), ["ai", "researcher", "ai"]);
  let sessions = state.withSessions(new Map(), [{ ...view("ses_a"), taken_over_at: T0 }]);
  assert.equal(sessions.get("ses_a").takenOver, true);
  sessions = state.applyFeedEvent(sessions, "session.handback", { session_id: "ses_a", turn_owed: true });
  assert.equal(sessions.get("ses_a").takenOver, false);
});
