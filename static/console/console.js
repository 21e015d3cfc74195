// The researchers' console: sign in, pick an interview, watch its sessions live, open one to
// follow its transcript and coverage, steer it, take it over, annotate it. The state logic is
// in state.js and the stream reader in sse.js (both node-tested); this module is the page.

import { Api, ApiError } from "./api.js";
import { EventFeed } from "./sse.js";
import * as state from "./state.js";

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
  selected: null, // {id, stream, transcript, coverage, takenOver}
  frame: null,
};

function say(text) {
  $("notice").textContent = text;
}

function fail(error) {
  $("error").textContent = error ? error.message || String(error) : "";
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "text") node.textContent = value;
    else if (name === "on") for (const [type, fn] of Object.entries(value)) node.addEventListener(type, fn);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
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
  const selected = { id, stream: null, transcript: state.emptyTranscript(), coverage: null, files: [], takenOver: false };
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
    await api.post(`/v1/sessions/${selected.id}/${action}`, {});
    selected.takenOver = takenOver;
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
    draw();
  };
  view.frame = typeof requestAnimationFrame === "function" ? requestAnimationFrame(run) : setTimeout(run, 0);
}

function draw() {
  drawSessions();
  drawDistributions();
  drawSession();
}

function sessionButton(row) {
  const current = view.selected && view.selected.id === row.id;
  const parts = [row.id, state.progressLabel(row)];
  if (row.writing) parts.push("interviewer writing");
  if (row.isTest) parts.push("test");
  if (row.status !== "in_progress") parts.push(row.status);
  return el(
    "li",
    { dataset: { sessionId: row.id, status: row.status } },
    el("button", { type: "button", "aria-current": current ? "true" : null, on: { click: () => openSession(row.id).catch(fail) }, text: parts.join(" · ") }),
  );
}

function drawSessions() {
  const live = state.liveSessions(view.sessions);
  $("live-sessions").replaceChildren(...live.map(sessionButton));
  $("no-live").hidden = live.length > 0;
  $("finished-sessions").replaceChildren(...state.finishedSessions(view.sessions).map(sessionButton));
}

function drawDistributions() {
  const rows = view.distributions.map((item) =>
    el(
      "div",
      { class: "distribution", dataset: { itemId: item.itemId } },
      el("h3", { text: `${item.itemId}. ${item.text}` }),
      el("p", { class: "hint", text: `${item.answered} of ${item.sessions} sessions answered${item.mean !== null && item.mean !== undefined ? ` · mean ${item.mean.toFixed(1)}` : ""}` }),
      item.bars.length
        ? el(
            "ul",
            { "aria-label": `Answers to ${item.itemId}` },
            ...item.bars.map((bar) =>
              el(
                "li",
                {},
                el("span", { text: `${bar.value}: ${bar.count} ` }),
                el("meter", { min: "0", max: "1", value: String(bar.share), "aria-label": `${bar.value}, ${Math.round(bar.share * 100)}%` }),
              ),
            ),
          )
        : null,
    ),
  );
  $("distributions").replaceChildren(...rows);
}

function drawSession() {
  const selected = view.selected;
  $("session").hidden = !selected;
  if (!selected) return;
  const row = view.sessions.get(selected.id);
  const live = !selected.transcript.ended && (!row || row.status === "in_progress");
  $("session-title").textContent = `Session ${selected.id}`;
  $("session-state").textContent = live ? "Live" : `Finished (${row ? row.status : "ended"})`;
  drawTranscript(selected);
  drawCoverage(selected);
  drawFiles(selected);
  $("steer-form").hidden = !live;
  $("takeover").hidden = !live || selected.takenOver;
  $("handback").hidden = !live || !selected.takenOver;
  $("researcher-form").hidden = !live || !selected.takenOver;
  drawNoteTargets(selected);
  const steering = selected.transcript.steering.map((s) => el("li", { text: `${s.mode === "now" ? "Now" : "Next turn"}: ${s.instruction} — ${s.status}` }));
  $("steering").replaceChildren(...steering);
  const general = state.notesOn(selected.transcript, null).map(noteItem);
  $("session-notes").replaceChildren(...general);
}

function noteItem(note) {
  const label = note.kind === "bookmark" ? "Bookmark" : "Note";
  return el("li", { class: "note", dataset: { noteId: note.id, kind: note.kind } }, `${label}${note.body ? `: ${note.body}` : ""}`);
}

function drawTranscript(selected) {
  const box = $("transcript");
  const parent = box.parentElement;
  const atEnd = parent.scrollTop + parent.clientHeight >= parent.scrollHeight - 8;
  const items = selected.transcript.messages.map((message) => {
    const who = message.role === "respondent" ? "Respondent" : message.author === "researcher" ? "You (researcher)" : "Interviewer";
    const li = el(
      "li",
      {
        class: `message ${message.role}`,
        dataset: { role: message.role, author: message.author, streaming: String(message.streaming), ...(message.turnId ? { turnId: message.turnId } : {}), ...(message.messageId ? { messageId: message.messageId } : {}) },
      },
      el("span", { class: "who", text: who }),
      el("span", { class: "text", text: message.content }),
    );
    if (message.messageId) {
      li.append(el("button", { type: "button", class: "bookmark", "aria-label": `Bookmark this ${message.role} message`, text: "Bookmark", on: { click: () => addNote("bookmark", message.messageId, "") } }));
      const notes = state.notesOn(selected.transcript, message.messageId);
      if (notes.length) li.append(el("ul", { class: "notes", "aria-label": "Notes on this message" }, ...notes.map(noteItem)));
    }
    return li;
  });
  box.replaceChildren(...items);
  if (atEnd) parent.scrollTop = parent.scrollHeight;
}

function drawCoverage(selected) {
  const coverage = selected.coverage;
  if (!coverage) {
    $("coverage-summary").textContent = "";
    $("coverage").replaceChildren();
    return;
  }
  $("coverage-summary").textContent = `${coverage.answered} of ${coverage.total} items answered`;
  const texts = new Map(view.distributions.map((d) => [d.itemId, d.text]));
  const items = coverage.items.map((item) =>
    el(
      "li",
      { dataset: { itemId: item.itemId, status: item.status } },
      `${item.itemId}${texts.has(item.itemId) ? ` ${texts.get(item.itemId)}` : ""}: ${item.status.replace("_", " ")}${item.value !== null && item.value !== undefined ? ` (${item.value})` : ""}`,
    ),
  );
  $("coverage").replaceChildren(...items);
}

function drawFiles(selected) {
  const links = selected.files.map((file) => el("li", {}, el("a", { href: file.url, download: file.name || null, text: file.name || file.kind })));
  $("files").replaceChildren(...links);
}

function drawNoteTargets(selected) {
  const select = $("note-target");
  const chosen = select.value;
  const options = [el("option", { value: "", text: "The whole session" })];
  for (const message of selected.transcript.messages) {
    if (!message.messageId) continue;
    const who = message.role === "respondent" ? "Respondent" : "Interviewer";
    const excerpt = message.content.length > 60 ? `${message.content.slice(0, 60)}…` : message.content;
    options.push(el("option", { value: message.messageId, text: `${who}: ${excerpt}` }));
  }
  select.replaceChildren(...options);
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
