/* The respondent's conversation as data: `reduce(state, action)` returns the next state.
 *
 * No DOM, no network, no timers: what the page shows (heading, notices, messages, whether
 * the respondent may type) is a function of the actions seen so far, so it is tested in
 * node (tests/static/) and shared by every view. Stream events arrive as
 * {type: "event", id, event, data}; the rest are what the page did or was told.
 */

export const TERMINAL = new Set(["completed", "abandoned"]);

export const TEXT = {
  notFound: "We couldn't find this interview. Please check the link you were given.",
  paused:
    "This interview is paused and is not taking new conversations right now. " +
    "Please try again later.",
  closed: "This interview is closed and no longer takes conversations. Thank you for your interest.",
  draft: "This interview isn't open yet. Please try again later.",
  finished: "Thank you — this conversation is complete.",
  endedByYou: "You ended this conversation. Thank you for your time.",
  ended: "This conversation has ended. Thank you for your time.",
  abandoned:
    "This conversation was closed because it was inactive for a long time. Thank you for your time.",
  sessionLost: "This conversation can no longer be continued here. Reload the page to start again.",
  reconnecting: "Connection lost — reconnecting…",
  failed: "Something went wrong while loading this interview. Please reload the page to try again.",
  sendFailed: "Your message could not be sent. Check your connection and press Send again.",
  endFailed: "The conversation could not be ended. Please try again.",
  empty: "Please write an answer before sending.",
};

/** @returns the state of a page that has not heard from the server yet. */
export function initial() {
  return {
    title: "Loading…",
    documentTitle: null, // null: leave the document's own title alone
    language: "",
    direction: "ltr", // "rtl" for Arabic, Hebrew…: the interview's language says
    anonymous: false,
    live: false, // a session is shown: the composer is there
    status: null,
    notice: null, // {kind, text}
    error: "",
    errors: 0, // how many errors were shown: the same text again is said again
    // {key, role, text, turnId?, itemId?, messageId?, clientMessageId?, pending, streaming, done}
    messages: [],
    fallback: [], // the start/resume response's messages, shown if the stream gives nothing
    fallbackDone: false,
    gotEvents: false,
    lastEventId: "",
    awaiting: "interviewer", // who speaks next
    turnOpen: false, // between turn.started and turn.completed
    sending: false,
    endRequested: false,
    ended: false,
    lost: false, // the session is no longer ours (erased, or its token refused)
    unsent: null, // {content, clientId} of a send that may have arrived: resent with its id
  };
}

/** Order of two Redis Stream ids ("ms-seq"). */
export function compareIds(a, b) {
  const [am, as = "0"] = a.split("-");
  const [bm, bs = "0"] = b.split("-");
  return Number(am) - Number(bm) || Number(as) - Number(bs);
}

export function pendingCount(state) {
  return state.messages.filter((m) => m.pending).length;
}

export function canSend(state) {
  return (
    state.live &&
    !state.ended &&
    !state.endRequested &&
    !state.sending &&
    state.awaiting === "respondent" &&
    !state.turnOpen &&
    pendingCount(state) === 0
  );
}

/** The message sent with `clientId`, while it is not yet seen on the stream. */
export function pendingMessage(state, clientId) {
  return state.messages.find((m) => m.pending && m.clientMessageId === clientId);
}

// ------------------------------------------------------------------ messages

function replace(state, index, changes) {
  const messages = state.messages.slice();
  messages[index] = { ...messages[index], ...changes };
  return { ...state, messages };
}

function append(state, message) {
  return { ...state, messages: [...state.messages, message] };
}

/** The state with the bubble of `turnId` present, and its index. */
function turnBubble(state, turnId) {
  const key = `turn:${turnId}`;
  const index = state.messages.findIndex((m) => m.key === key);
  if (index >= 0) return [state, index];
  const bubble = { key, role: "interviewer", text: "", turnId, pending: false, streaming: false };
  return [append(state, { ...bubble, done: false }), state.messages.length];
}

function respondentBubble(state, messageId, content, clientId) {
  if (state.messages.some((m) => m.messageId === messageId)) return state;
  const index = clientId
    ? state.messages.findIndex((m) => m.pending && m.clientMessageId === clientId)
    : -1;
  if (index >= 0) return replace(state, index, { pending: false, text: content, messageId });
  return append(state, {
    key: `msg:${messageId}`,
    role: "respondent",
    text: content,
    messageId,
    clientMessageId: clientId || undefined,
    pending: false,
    streaming: false,
    done: true,
  });
}

function endNotice(reason) {
  if (reason === "abandoned" || reason === "idle_timeout") {
    return { kind: "abandoned", text: TEXT.abandoned };
  }
  if (reason === "ended_by_respondent") return { kind: "ended", text: TEXT.endedByYou };
  if (reason === "finished" || !reason) return { kind: "finished", text: TEXT.finished };
  return { kind: "ended", text: TEXT.ended };
}

function markEnded(state, reason) {
  return {
    ...state,
    ended: true,
    turnOpen: false,
    notice: endNotice(reason),
    // Sent but never seen: shown as said, no longer as waiting.
    messages: state.messages.map((m) => (m.pending ? { ...m, pending: false } : m)),
  };
}

function withError(state, text) {
  return { ...state, error: text, errors: state.errors + 1 };
}

function lost(state) {
  return { ...state, ended: true, lost: true, notice: { kind: "error", text: TEXT.sessionLost } };
}

// ------------------------------------------------------------------ stream events

const EVENTS = {
  "session.started"(state) {
    return { ...state, awaiting: "interviewer" };
  },
  "turn.started"(state, data) {
    let [next, index] = turnBubble(state, data.turn_id);
    if (data.restart) {
      // The server lost what it had streamed of this turn and writes it again from its
      // start: what we showed is replaced, not continued (no garbled half-sentences).
      next = replace(next, index, { text: "", done: false });
    }
    if (!next.messages[index].done) {
      next = replace(next, index, { streaming: true });
      next.turnOpen = true;
    }
    return { ...next, awaiting: "interviewer" };
  },
  "turn.delta"(state, data) {
    const [next, index] = turnBubble(state, data.turn_id);
    const turn = next.messages[index];
    if (turn.done) return next;
    const grown = replace(next, index, { streaming: true, text: turn.text + data.text });
    return { ...grown, turnOpen: true };
  },
  "turn.completed"(state, data) {
    const [next, index] = turnBubble(state, data.turn_id);
    const changes = { text: data.content, done: true, streaming: false };
    if (data.item_id) changes.itemId = data.item_id;
    return { ...replace(next, index, changes), turnOpen: false, awaiting: "respondent" };
  },
  "respondent.message"(state, data) {
    let next = respondentBubble(state, data.message_id, data.content, data.client_message_id);
    if (next.unsent && next.unsent.clientId === data.client_message_id) {
      // A send we thought had failed did arrive: don't let it be typed twice.
      next = { ...next, unsent: null, error: "" };
    }
    return { ...next, awaiting: "interviewer" };
  },
  "session.completed"(state, data) {
    return markEnded(state, data.reason);
  },
  "session.state"(state, data) {
    const next = { ...state, status: data.status };
    if (!TERMINAL.has(data.status)) return next;
    return markEnded(next, data.status === "abandoned" ? "abandoned" : data.reason);
  },
  "session.deleted"(state) {
    return lost(state); // erased: the last event there will be
  },
};

/** The event types the page acts on (an SSE source listens for these). */
export const EVENT_TYPES = Object.keys(EVENTS);

/** Whether a stream event is the last its stream sends (the server ends the stream). */
export function endsStream({ event, data }) {
  if (event === "session.completed" || event === "session.deleted") return true;
  return event === "session.state" && Boolean(data) && TERMINAL.has(data.status);
}

function onEvent(state, { id, event, data }) {
  const handle = EVENTS[event];
  if (!handle) return state;
  if (id && state.lastEventId && compareIds(id, state.lastEventId) <= 0) return state; // seen it
  const next = { ...state, gotEvents: true, lastEventId: id || state.lastEventId };
  return handle(next, data || {});
}

function fallback(state) {
  if (state.gotEvents || state.fallbackDone) return state;
  let next = { ...state, fallbackDone: true };
  for (const m of state.fallback) {
    if (m.role === "interviewer") {
      const [withTurn, index] = turnBubble(next, m.turn_id || m.id);
      next = replace(withTurn, index, { text: m.content, done: true });
    } else if (m.role === "respondent") {
      next = respondentBubble(next, m.id, m.content, null);
    }
  }
  const last = state.fallback[state.fallback.length - 1];
  return { ...next, awaiting: last && last.role === "interviewer" ? "respondent" : "interviewer" };
}

function begin(state, session) {
  let next = {
    ...state,
    live: true,
    status: session.status,
    fallback: Array.isArray(session.messages) ? session.messages : [],
    messages: [],
  };
  if (TERMINAL.has(session.status)) {
    next = markEnded(next, session.status === "abandoned" ? "abandoned" : null);
  }
  return next;
}

// ------------------------------------------------------------------ the reducer

const ACTIONS = {
  info(state, { info }) {
    return {
      ...state,
      title: info.title,
      documentTitle: info.title,
      language: info.language || state.language,
      direction: info.direction === "rtl" ? "rtl" : "ltr",
      anonymous: Boolean(info.anonymous),
    };
  },
  notFound(state) {
    const title = "Interview not found";
    const notice = { kind: "not-found", text: TEXT.notFound };
    return { ...state, title, documentTitle: title, notice };
  },
  unavailable(state, { status }) {
    const kind = status === "paused" || status === "closed" ? status : "draft";
    return { ...state, notice: { kind, text: TEXT[kind] } };
  },
  refused(state, { message }) {
    // The interview changed since we asked (paused, closed): say what the server said.
    return { ...state, notice: { kind: "unavailable", text: message || TEXT.paused } };
  },
  failed(state, { message }) {
    const title = state.title === "Loading…" ? "Interview" : state.title;
    return { ...state, title, notice: { kind: "error", text: message || TEXT.failed } };
  },
  begin(state, { session }) {
    return begin(state, session);
  },
  event: onEvent,
  fallback,
  trouble(state) {
    if (state.notice) return state;
    return { ...state, notice: { kind: "reconnecting", text: TEXT.reconnecting } };
  },
  connected(state) {
    const ours = state.notice && state.notice.kind === "reconnecting";
    return ours ? { ...state, notice: null } : state;
  },
  lost,
  empty(state) {
    return withError(state, TEXT.empty);
  },
  send(state, { content, clientId }) {
    const message = {
      key: `client:${clientId}`,
      role: "respondent",
      text: content,
      clientMessageId: clientId,
      pending: true,
      streaming: false,
      done: true,
    };
    return { ...append(state, message), error: "", sending: true };
  },
  sent(state, { clientId }) {
    const unsent = state.unsent && state.unsent.clientId === clientId ? null : state.unsent;
    return { ...state, sending: false, unsent };
  },
  sendFailed(state, { clientId, content, status, message }) {
    // Seen on the stream after all: nothing to take back.
    if (!pendingMessage(state, clientId)) return { ...state, sending: false };
    const next = withError({ ...state, sending: false }, message);
    // Not seen on the stream: take it back. A lost connection may have hidden a success,
    // so a resend of the same text reuses the id.
    next.messages = state.messages.filter((m) => !(m.pending && m.clientMessageId === clientId));
    next.unsent = status === 0 ? { content, clientId } : null;
    return status === 401 ? lost(next) : next;
  },
  endRequested(state) {
    return { ...state, endRequested: true };
  },
  endFailed(state, { message }) {
    return withError({ ...state, endRequested: false }, message || TEXT.endFailed);
  },
  endedHere(state) {
    return markEnded(state, "ended_by_respondent"); // no stream to tell us
  },
};

export function reduce(state, action) {
  const handle = ACTIONS[action.type];
  if (!handle) throw new Error(`unknown action: ${action.type}`);
  return handle(state, action);
}
