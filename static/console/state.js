// The console's state, kept apart from the page: what the interview's sessions are doing,
// one session's transcript as it streams, and the guide's coverage filling in. Every function
// here is pure (it returns new state), so node tests it without a browser.

const LIVE = new Set(["in_progress"]);
const ENDED_EVENTS = new Set(["session.completed", "session.deleted"]);

/** A session row as the list shows it, from the API's Session view. */
export function sessionFromView(view) {
  return {
    id: view.id,
    status: view.status,
    isTest: Boolean(view.is_test),
    createdAt: view.created_at,
    lastActivityAt: view.last_activity_at,
    currentItemId: view.current_item_id || null,
    takenOver: Boolean(view.taken_over_at),
    answered: 0,
    total: 0,
    share: 0,
    messages: 0,
    writing: false,
    steering: 0,
    notes: 0,
  };
}

/** The sessions (a Map by id, newest first) with one page of the list merged in. */
export function withSessions(sessions, views) {
  const next = new Map(sessions);
  for (const view of views) {
    const known = next.get(view.id);
    const fresh = sessionFromView(view);
    // The list knows the status; the feed knows the progress: keep what the feed taught us.
    next.set(view.id, known ? { ...known, status: fresh.status, lastActivityAt: fresh.lastActivityAt, takenOver: fresh.takenOver } : fresh);
  }
  return sortSessions(next);
}

function sortSessions(sessions) {
  const rows = [...sessions.values()].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  return new Map(rows.map((row) => [row.id, row]));
}

/**
 * One event of the interview's live feed (or of a session's own stream, with its session id
 * given) applied to the sessions. `at`: when it arrived, for the row's last activity.
 */
export function applyFeedEvent(sessions, type, data, sessionId = data.session_id, at = new Date().toISOString()) {
  if (!sessionId) return sessions;
  const next = new Map(sessions);
  const known = next.get(sessionId);
  if (type === "session.deleted") {
    next.delete(sessionId);
    return next;
  }
  const row = known || {
    ...sessionFromView({ id: sessionId, status: "in_progress", created_at: at, last_activity_at: at }),
  };
  const changed = { ...row, lastActivityAt: at };
  switch (type) {
    case "session.started":
      changed.status = "in_progress";
      break;
    case "respondent.message":
      changed.messages = row.messages + 1;
      changed.writing = true;
      break;
    case "turn.started":
    case "turn.delta":
      changed.writing = true;
      break;
    case "turn.completed":
      changed.messages = row.messages + 1;
      changed.writing = false;
      if (data.item_id) changed.currentItemId = data.item_id;
      break;
    case "coverage.updated":
      changed.answered = data.answered;
      changed.total = data.total;
      changed.share = data.share;
      break;
    case "session.completed":
      changed.status = "completed";
      changed.writing = false;
      break;
    case "session.state":
      changed.status = data.status;
      if (!LIVE.has(data.status)) changed.writing = false;
      break;
    case "steer.queued":
      changed.steering = row.steering + 1;
      break;
    case "steer.applied":
      changed.steering = Math.max(0, row.steering - 1);
      break;
    case "note.added":
      changed.notes = row.notes + 1;
      break;
    case "session.takeover":
      changed.takenOver = true;
      break;
    case "session.handback":
      changed.takenOver = false;
      break;
    default:
      return sessions; // a type this console does not know yet changes nothing
  }
  next.set(sessionId, changed);
  return known ? next : sortSessions(next);
}

export function liveSessions(sessions) {
  return [...sessions.values()].filter((row) => LIVE.has(row.status));
}

export function finishedSessions(sessions) {
  return [...sessions.values()].filter((row) => !LIVE.has(row.status));
}

/** A progress label: "3 of 7 items" once coverage is known. */
export function progressLabel(row) {
  if (!row.total) return row.messages ? `${row.messages} messages` : "starting";
  return `${row.answered} of ${row.total} items`;
}

/** A session's own transcript, from nothing. */
export function emptyTranscript() {
  return { messages: [], notes: [], steering: [], ended: false, takenOver: false };
}

/** The transcript of a finished session, from GET /v1/sessions/{id}/transcript. */
export function transcriptFromView(view) {
  const messages = (view.messages || []).map((m) => ({
    key: m.id,
    role: m.role,
    author: m.author || (m.role === "interviewer" ? "ai" : "respondent"),
    content: m.content,
    messageId: m.id,
    turnId: m.turn_id || null,
    streaming: false,
  }));
  return { ...emptyTranscript(), messages, ended: view.status !== "in_progress", takenOver: Boolean(view.taken_over_at) };
}

/** One session event applied to its transcript. */
export function applyTranscriptEvent(transcript, type, data) {
  const messages = transcript.messages;
  switch (type) {
    case "respondent.message":
      if (messages.some((m) => m.messageId === data.message_id)) return transcript;
      return {
        ...transcript,
        messages: [
          ...messages,
          { key: data.message_id, role: "respondent", author: "respondent", content: data.content, messageId: data.message_id, turnId: null, streaming: false },
        ],
      };
    case "turn.started": {
      // The turn events do not say who writes: while the session is taken over, the researcher.
      const author = data.author || (transcript.takenOver ? "researcher" : "ai");
      const at = messages.findIndex((m) => m.turnId === data.turn_id && m.role === "interviewer");
      if (at !== -1) {
        // Written again from its start (restart), or replayed: what follows replaces it.
        return replaceAt(transcript, at, { ...messages[at], content: "", streaming: true, author });
      }
      const turn = { key: `turn:${data.turn_id}`, role: "interviewer", author, content: "", messageId: null, turnId: data.turn_id, streaming: true };
      return { ...transcript, messages: [...messages, turn] };
    }
    case "turn.delta": {
      const at = messages.findIndex((m) => m.turnId === data.turn_id && m.role === "interviewer");
      if (at === -1) return transcript;
      return replaceAt(transcript, at, { ...messages[at], content: messages[at].content + data.text });
    }
    case "turn.completed": {
      const at = messages.findIndex((m) => m.turnId === data.turn_id && m.role === "interviewer");
      const author = data.author || (at === -1 ? "ai" : messages[at].author);
      const done = { key: `turn:${data.turn_id}`, role: "interviewer", author, content: data.content, messageId: data.message_id || null, turnId: data.turn_id, streaming: false };
      if (at === -1) return { ...transcript, messages: [...messages, done] };
      return replaceAt(transcript, at, { ...messages[at], ...done, key: messages[at].key });
    }
    case "session.takeover":
      return { ...transcript, takenOver: true };
    case "session.handback":
      return { ...transcript, takenOver: false };
    case "note.added":
      if (transcript.notes.some((n) => n.id === data.note_id)) return transcript;
      return { ...transcript, notes: [...transcript.notes, noteFromEvent(data)] };
    case "steer.queued":
      return { ...transcript, steering: [...transcript.steering, { id: data.steer_id, instruction: data.instruction, mode: data.mode, status: "queued", turnId: null }] };
    case "steer.applied":
      return {
        ...transcript,
        steering: transcript.steering.map((s) => (s.id === data.steer_id ? { ...s, status: "applied", turnId: data.turn_id } : s)),
      };
    default:
      if (ENDED_EVENTS.has(type) || (type === "session.state" && data.status !== "in_progress")) {
        return { ...transcript, ended: true, messages: messages.map((m) => (m.streaming ? { ...m, streaming: false } : m)) };
      }
      return transcript;
  }
}

function replaceAt(transcript, at, message) {
  const messages = transcript.messages.slice();
  messages[at] = message;
  return { ...transcript, messages };
}

function noteFromEvent(data) {
  return { id: data.note_id, kind: data.kind, messageId: data.message_id || null, body: data.body };
}

/** Notes from GET /v1/sessions/{id}/notes (newest first) merged into the transcript's. */
export function withNotes(transcript, views) {
  const known = new Set(transcript.notes.map((n) => n.id));
  const added = views
    .filter((v) => !known.has(v.id))
    .map((v) => ({ id: v.id, kind: v.kind, messageId: v.message_id || null, body: v.body }))
    .reverse();
  return { ...transcript, notes: [...added, ...transcript.notes] };
}

/** The notes on one message (null: on the session as a whole), oldest first. */
export function notesOn(transcript, messageId) {
  return transcript.notes.filter((n) => n.messageId === (messageId || null));
}

/**
 * A session's coverage, by guide item: from GET /v1/sessions/{id}/coverage, then each
 * coverage.updated event's compact items filling it in.
 */
export function coverageFromView(view) {
  const items = (view.items || []).map((i) => ({ itemId: i.item_id, status: i.status, value: i.value ?? null, required: Boolean(i.required) }));
  return { answered: view.answered || 0, total: view.total || items.length, share: view.share || 0, items };
}

export function applyCoverage(coverage, data) {
  const byId = new Map(coverage.items.map((i) => [i.itemId, i]));
  for (const item of data.items || []) {
    const known = byId.get(item.item_id) || { itemId: item.item_id, required: false };
    byId.set(item.item_id, { ...known, status: item.status, value: item.value ?? null });
  }
  const order = coverage.items.map((i) => i.itemId);
  for (const item of data.items || []) if (!order.includes(item.item_id)) order.push(item.item_id);
  return { answered: data.answered, total: data.total, share: data.share, items: order.map((id) => byId.get(id)) };
}

/**
 * The interview's answer distributions as bars, from GET /v1/interviews/{id}/coverage: per
 * item its text, how many sessions answered, and each value's share of the resolved answers.
 */
export function distributionRows(view) {
  return (view.items || []).map((item) => {
    const statuses = item.statuses || {};
    const answered = (statuses.answered || 0) + (statuses.probed || 0);
    const values = (item.distribution && item.distribution.values) || [];
    const resolved = values.reduce((sum, v) => sum + v.count, 0);
    return {
      itemId: item.item_id,
      text: item.text,
      questionType: item.question_type,
      sessions: item.sessions,
      answered,
      mean: item.distribution ? item.distribution.mean : null,
      bars: values.map((v) => ({ value: String(v.value), count: v.count, share: resolved ? v.count / resolved : 0 })),
    };
  });
}

/** When a ticket that lives until `expiresAt` should be renewed: at two thirds of its life. */
export function renewDelay(issuedAt, expiresAt) {
  const life = Date.parse(expiresAt) - issuedAt;
  return Math.max(1000, Math.floor((life * 2) / 3));
}
