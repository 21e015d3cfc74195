// The researchers' console: sign in, pick an interview, watch its sessions live, open one to
// follow its transcript and coverage, steer it, take it over, annotate it. The state logic is
// in state.js and the stream reader in sse.js (both node-tested), the drawing in view.js;
// this module is the page's controller: what it asks for, and what it does with the answers.

import { Api, ApiError } from "./api.js";
import { EventFeed } from "./sse.js";
import * as state from "./state.js";
import { draw, el } from "./view.js";

const $ = (id) => document.getElementById(id);
const SESSION_END = new Set(["session.completed", "session.deleted"]);
// Without the interview feed, at most this many live sessions get a stream of their own.
const FALLBACK_STREAMS = 20;
const FALLBACK_POLL_MS = 3000;
const DISTRIBUTION_REFRESH_MS = 2000;

const api = new Api({ onSignedOut: (reason) => signedOut(reason) });

const view = {
  interviewId: null,
  sessions: new Map(),
  feed: null, // the interview's live feed, or null in fallback mode
  fallback: false,
  streams: new Map(), // fallback: a stream per live session
  poll: null,
  distributions: [],
  distributionTimer: null,
  selected: null, // {id, stream, transcript, coverage, files}
  frame: null,
};

function say(text) {
  $("notice").textContent = text;
}

function fail(error) {
  $("error").textContent = error ? error.message || String(error) : "";
}

// Signing in and out.

$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("api-key");
  const key = input.value;
  input.value = ""; // the key leaves the page with this request
  fail(null);
  if (!key.trim()) {
    fail(new Error("Enter an API key."));
    input.focus();
    return;
  }
  try {
    const issued = await api.signIn(key);
    await signedIn(issued);
  } catch (error) {
    fail(error);
    input.focus();
  }
});

$("sign-out").addEventListener("click", async () => {
  await api.signOut();
});

async function signedIn(issued) {
  $("sign-in").hidden = true;
  $("workspace").hidden = false;
  $("sign-out").hidden = false;
  $("who").hidden = false;
  $("who").textContent = `Signed in with key ${issued.key_id}`;
  say("Signed in.");
  await loadInterviews();
  $("interview").focus();
}

function signedOut(reason) {
  closeInterview();
  $("workspace").hidden = true;
  $("sign-out").hidden = true;
  $("who").hidden = true;
  $("sign-in").hidden = false;
  say("Signed out.");
  if (reason) fail(new Error(reason));
  $("api-key").focus();
}

// The interview and its sessions.

async function loadInterviews() {
  const select = $("interview");
  select.replaceChildren(el("option", { value: "", text: "Choose an interview…" }));
  const page = await api.get("/v1/interviews", { limit: 100 });
  for (const interview of page.items) {
    select.append(el("option", { value: interview.id, text: `${interview.title} (${interview.status})` }));
  }
}

$("interview").addEventListener("change", () => {
  const id = $("interview").value;
  if (id) openInterview(id).catch(fail);
  else closeInterview();
});

function closeInterview() {
  if (view.feed) view.feed.stop();
  view.feed = null;
  for (const stream of view.streams.values()) stream.stop();
  view.streams.clear();
  if (view.poll !== null) clearInterval(view.poll);
  view.poll = null;
  closeSession();
  view.interviewId = null;
  view.sessions = new Map();
  view.distributions = [];
  render();
}

async function openInterview(id) {
  closeInterview();
  view.interviewId = id;
  fail(null);
  await refreshSessions();
  await refreshDistributions();
  openFeed(id);
  render();
}

async function refreshSessions() {
  const id = view.interviewId;
  const page = await api.get(`/v1/interviews/${id}/sessions`, { limit: 100, include_test: "true" });
  if (id !== view.interviewId) return;
  view.sessions = state.withSessions(view.sessions, page.items);
  if (view.fallback) followLiveSessions();
  render();
}

function openFeed(id) {
  const feed = new EventFeed({
    url: `/v1/interviews/${id}/live`,
    token: () => api.token(),
    onEvent: (event) => feedEvent(event),
    onState: (status, detail) => {
      if (status === "open") $("feed-mode").textContent = "Live: the interview's feed.";
      if (status === "reconnecting") $("feed-mode").textContent = "Live: the interview's feed (reconnecting…)";
      if (status === "closed") feedClosed(id, detail);
    },
  });
  view.feed = feed;
  feed.start();
}

function feedClosed(id, detail) {
  if (id !== view.interviewId) return;
  view.feed = null;
  if (detail && detail.status === 401) {
    api.forget(detail.message);
    return;
  }
  // No interview feed on this server: each live session's own stream instead.
  view.fallback = true;
  $("feed-mode").textContent = "Live: each session's own stream.";
  followLiveSessions();
  view.poll = setInterval(() => refreshSessions().catch(fail), FALLBACK_POLL_MS);
}

function feedEvent(event) {
  if (event.event === "feed.reset") {
    // Resumed from before what the feed still holds: what was missed is read from the lists.
    refreshSessions().catch(fail);
    scheduleDistributions();
    return;
  }
  const data = parse(event.data);
  if (!data) return;
  sessionEvent(event.event, data, data.session_id);
}

function sessionEvent(type, data, sessionId) {
  view.sessions = state.applyFeedEvent(view.sessions, type, data, sessionId);
  if (type === "coverage.updated" || SESSION_END.has(type)) scheduleDistributions();
  render();
}

function followLiveSessions() {
  const live = state.liveSessions(view.sessions).slice(0, FALLBACK_STREAMS);
  for (const row of live) {
    if (view.streams.has(row.id)) continue;
    const stream = new EventFeed({
      url: `/v1/sessions/${row.id}/events`,
      token: () => api.token(),
      isLast: (event) => SESSION_END.has(event.event),
      onEvent: (event) => {
        const data = parse(event.data);
        if (data) sessionEvent(event.event, data, row.id);
      },
      onState: (status, detail) => {
        if (status === "ended" || status === "closed") view.streams.delete(row.id);
        if (status === "closed" && detail && detail.status === 401) api.forget(detail.message);
      },
    });
    view.streams.set(row.id, stream);
    stream.start();
  }
}

function scheduleDistributions() {
  if (view.distributionTimer !== null) return;
  view.distributionTimer = setTimeout(() => {
    view.distributionTimer = null;
    refreshDistributions().catch(fail);
  }, DISTRIBUTION_REFRESH_MS);
}

async function refreshDistributions() {
  const id = view.interviewId;
  if (!id) return;
  const coverage = await api.get(`/v1/interviews/${id}/coverage`, { include_test: "true" });
  if (id !== view.interviewId) return;
  view.distributions = state.distributionRows(coverage);
  render();
}

// One session, opened.

function closeSession() {
  if (view.selected && view.selected.stream) view.selected.stream.stop();
  view.selected = null;
}

async function openSession(id) {
  closeSession();
  const row = view.sessions.get(id);
  // A live session's log is replayed from its start: its takeovers and handbacks with it.
  const selected = { id, stream: null, transcript: state.emptyTranscript(), coverage: null, files: [] };
  view.selected = selected;
  render();
  const live = row && row.status === "in_progress";
  const [coverage, notes] = await Promise.all([
    api.get(`/v1/sessions/${id}/coverage`).catch(() => null),
    api.get(`/v1/sessions/${id}/notes`, { limit: 100 }).catch(() => ({ items: [] })),
  ]);
  if (view.selected !== selected) return;
  if (coverage) selected.coverage = state.coverageFromView(coverage);
  if (live) {
    selected.stream = new EventFeed({
      url: `/v1/sessions/${id}/events`,
      token: () => api.token(),
      isLast: (event) => SESSION_END.has(event.event),
      onEvent: (event) => {
        const data = parse(event.data);
        if (!data || view.selected !== selected) return;
        selected.transcript = state.applyTranscriptEvent(selected.transcript, event.event, data);
        if (event.event === "coverage.updated" && selected.coverage) {
          selected.coverage = state.applyCoverage(selected.coverage, data);
        }
        if (SESSION_END.has(event.event)) loadFiles(selected).catch(fail);
        render();
      },
    });
    selected.stream.start();
  } else {
    const transcript = await api.get(`/v1/sessions/${id}/transcript`);
    if (view.selected !== selected) return;
    selected.transcript = state.transcriptFromView(transcript);
    await loadFiles(selected);
  }
  selected.transcript = state.withNotes(selected.transcript, notes.items);
  render();
}

async function loadFiles(selected) {
  const listed = await api.get(`/v1/sessions/${selected.id}/files`);
  if (view.selected !== selected) return;
  selected.files = listed.items || [];
  render();
}

// Steering, taking over, notes: what the researcher sends.

$("steer-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const selected = view.selected;
  if (!selected) return;
  const instruction = $("steer-instruction").value.trim();
  const mode = document.querySelector('input[name="steer-mode"]:checked').value;
  if (!instruction) return;
  try {
    await api.post(`/v1/sessions/${selected.id}/steer`, { instruction, mode });
    $("steer-instruction").value = "";
    say("Instruction queued: it shapes the interviewer's next turn.");
  } catch (error) {
    fail(error);
  }
});

$("takeover").addEventListener("click", () => control("takeover", true));
$("handback").addEventListener("click", () => control("handback", false));

async function control(action, takenOver) {
  const selected = view.selected;
  if (!selected) return;
  try {
    const answer = await api.post(`/v1/sessions/${selected.id}/${action}`, {});
    const now = answer && typeof answer.taken_over === "boolean" ? answer.taken_over : takenOver;
    selected.transcript = { ...selected.transcript, takenOver: now };
    say(takenOver ? "You are the interviewer now." : "Handed back to the AI.");
    render();
    (takenOver ? $("researcher-message") : $("takeover")).focus();
  } catch (error) {
    fail(error);
  }
}

$("researcher-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const selected = view.selected;
  const content = $("researcher-message").value.trim();
  if (!selected || !content) return;
  try {
    await api.post(`/v1/sessions/${selected.id}/interviewer-messages`, { content });
    $("researcher-message").value = "";
  } catch (error) {
    fail(error);
  }
});

$("note-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const target = $("note-target").value;
  await addNote($("note-kind").value, target || null, $("note-body").value);
});

async function addNote(kind, messageId, body) {
  const selected = view.selected;
  if (!selected) return;
  fail(null);
  const payload = { kind, body };
  if (messageId) payload.message_id = messageId;
  try {
    const note = await api.post(`/v1/sessions/${selected.id}/notes`, payload);
    if (view.selected !== selected) return;
    selected.transcript = state.withNotes(selected.transcript, [note]);
    $("note-body").value = "";
    say(kind === "bookmark" ? "Bookmarked." : "Note added.");
    render();
  } catch (error) {
    fail(error instanceof ApiError && error.field ? new Error(`${error.field}: ${error.message}`) : error);
  }
}

// Rendering: coalesced to one pass per frame, however many events arrive.

function render() {
  if (view.frame !== null) return;
  const run = () => {
    view.frame = null;
    draw(view, { openSession: (id) => openSession(id).catch(fail), addNote });
  };
  view.frame = typeof requestAnimationFrame === "function" ? requestAnimationFrame(run) : setTimeout(run, 0);
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
