/* Rapport respondent page: one interview conversation over the public API and SSE.
 *
 * Plain script, no build step, no inline code (the page CSP forbids it). The conversation
 * is rendered from the session's event stream, which replays the whole log when opened
 * without a last event id; the start/resume response's `messages` are only a fallback
 * for when the stream has nothing (for instance after the log has expired).
 */
(() => {
  "use strict";

  const TERMINAL = new Set(["completed", "abandoned"]);
  const EVENT_TYPES = [
    "session.started",
    "turn.started",
    "turn.delta",
    "turn.completed",
    "respondent.message",
    "session.completed",
    "session.state",
  ];
  const FALLBACK_AFTER_MS = 2000; // stream silent this long: show the messages we were given
  const SEND_RETRIES = 5;
  const FIRST_RECONNECT_MS = 250; // an expired ticket is fixed at once; then back off
  const MAX_RECONNECT_DELAY_MS = 30000;

  const TEXT = {
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
  const PLACEHOLDER = {
    ready: "Type your answer…",
    waiting: "The interviewer is responding…",
    ended: "This conversation has ended.",
  };

  const el = (id) => document.getElementById(id);
  const ui = {
    title: el("title"),
    notice: el("notice"),
    error: el("error"),
    log: el("log"),
    messages: el("messages"),
    composer: el("composer"),
    input: el("input"),
    send: el("send"),
    end: el("end"),
  };

  const state = {
    shareToken: "",
    session: null, // {id, token}
    status: null,
    fallback: [],
    fallbackDone: false,
    gotEvents: false,
    source: null,
    lastEventId: "",
    awaiting: "interviewer", // who speaks next
    turnOpen: false, // between turn.started and turn.completed
    sending: false,
    endRequested: false,
    ended: false,
    refocus: false,
    unsent: null, // {content, clientId} of a send that failed: resent with the same id
    reconnectDelay: FIRST_RECONNECT_MS,
    reopening: false,
    timers: { fallback: 0, ticket: 0, reconnect: 0 },
  };
  const turns = new Map(); // turn_id -> {li, text, done}
  const said = new Map(); // message_id -> li
  const pending = new Map(); // client_message_id -> li (sent, not yet seen on the stream)

  // ---------------------------------------------------------------- helpers

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function newClientId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // randomUUID needs a secure context; getRandomValues does not.
    const b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  /** Order of two Redis Stream ids ("ms-seq"). */
  function compareIds(a, b) {
    const [am, as = "0"] = a.split("-");
    const [bm, bs = "0"] = b.split("-");
    return Number(am) - Number(bm) || Number(as) - Number(bs);
  }

  async function api(method, path, body, token) {
    const headers = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (token) headers.authorization = `Bearer ${token}`;
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    return { status: response.status, ok: response.ok, data };
  }

  function errorText(res, fallback) {
    const message = res && res.data && res.data.error && res.data.error.message;
    if (!message) return fallback;
    return message.charAt(0).toUpperCase() + message.slice(1);
  }

  const storageKey = () => `rapport:session:${state.shareToken}`;

  function loadStored() {
    try {
      const value = JSON.parse(window.localStorage.getItem(storageKey()) || "null");
      if (value && typeof value.session_id === "string" && typeof value.session_token === "string") {
        return value;
      }
    } catch {
      /* storage unavailable or corrupt: start afresh */
    }
    return null;
  }

  function store(sessionId, token) {
    try {
      window.localStorage.setItem(
        storageKey(),
        JSON.stringify({ session_id: sessionId, session_token: token }),
      );
    } catch {
      /* private mode: the conversation just won't survive a reload */
    }
  }

  function forget() {
    try {
      window.localStorage.removeItem(storageKey());
    } catch {
      /* nothing to do */
    }
  }

  // ---------------------------------------------------------------- notices

  function setNotice(kind, text) {
    ui.notice.textContent = text || "";
    if (kind) ui.notice.dataset.state = kind;
    else delete ui.notice.dataset.state;
  }

  function showError(text) {
    ui.error.textContent = text || "";
  }

  function showConnectionTrouble() {
    if (!ui.notice.dataset.state) setNotice("reconnecting", TEXT.reconnecting);
  }

  function clearConnectionTrouble() {
    if (ui.notice.dataset.state === "reconnecting") setNotice(null, "");
  }

  function unavailable(status) {
    const kind = status === "paused" || status === "closed" ? status : "draft";
    setNotice(kind, TEXT[kind]);
    ui.composer.hidden = true;
    ui.end.hidden = true;
  }

  function notFound() {
    ui.title.textContent = "Interview not found";
    document.title = "Interview not found";
    setNotice("not-found", TEXT.notFound);
    ui.composer.hidden = true;
    ui.end.hidden = true;
  }

  function failed(text) {
    if (ui.title.textContent === "Loading…") ui.title.textContent = "Interview";
    setNotice("error", text || TEXT.failed);
    ui.composer.hidden = true;
    ui.end.hidden = true;
  }

  // ---------------------------------------------------------------- rendering

  function nearBottom() {
    const root = document.documentElement;
    return window.innerHeight + window.scrollY >= root.scrollHeight - 120;
  }

  function following(change) {
    const stick = nearBottom();
    change();
    if (stick) window.scrollTo(0, document.documentElement.scrollHeight);
  }

  function addMessage(role, content) {
    const li = document.createElement("li");
    li.className = `message ${role}`;
    const who = document.createElement("span");
    who.className = "who visually-hidden";
    who.textContent = role === "interviewer" ? "Interviewer: " : "You: ";
    const text = document.createElement("div");
    text.className = "text";
    text.dir = "auto";
    text.textContent = content;
    li.append(who, text);
    following(() => ui.messages.append(li));
    return li;
  }

  function turnBubble(turnId) {
    let turn = turns.get(turnId);
    if (!turn) {
      const li = addMessage("interviewer", "");
      li.dataset.turnId = turnId;
      turn = { li, text: li.querySelector(".text"), done: false };
      turns.set(turnId, turn);
    }
    return turn;
  }

  function respondentBubble(messageId, content, clientId) {
    if (said.has(messageId)) return;
    let li = clientId ? pending.get(clientId) : undefined;
    if (li) {
      pending.delete(clientId);
      li.classList.remove("pending");
      li.querySelector(".text").textContent = content;
    } else {
      li = addMessage("respondent", content);
      if (clientId) li.dataset.clientMessageId = clientId;
    }
    li.dataset.messageId = messageId;
    said.set(messageId, li);
  }

  function canSend() {
    return (
      state.session !== null &&
      !state.ended &&
      !state.endRequested &&
      !state.sending &&
      state.awaiting === "respondent" &&
      !state.turnOpen &&
      pending.size === 0
    );
  }

  function updateComposer() {
    const enabled = canSend();
    if (!enabled && document.activeElement === ui.input) state.refocus = true;
    ui.input.disabled = !enabled;
    ui.send.disabled = !enabled;
    ui.input.placeholder = state.ended
      ? PLACEHOLDER.ended
      : enabled
        ? PLACEHOLDER.ready
        : PLACEHOLDER.waiting;
    ui.end.disabled = state.ended || state.endRequested;
    ui.end.hidden = state.ended || state.session === null;
    // A turn is announced once it is complete, not word by word.
    ui.log.setAttribute("aria-busy", state.turnOpen ? "true" : "false");
    if (enabled && state.refocus) {
      state.refocus = false;
      ui.input.focus();
    }
  }

  function markEnded(reason) {
    state.ended = true;
    state.turnOpen = false;
    if (reason === "abandoned" || reason === "idle_timeout") setNotice("abandoned", TEXT.abandoned);
    else if (reason === "ended_by_respondent") setNotice("ended", TEXT.endedByYou);
    else if (reason === "finished" || !reason) setNotice("finished", TEXT.finished);
    else setNotice("ended", TEXT.ended);
    clearTimeout(state.timers.ticket);
    clearTimeout(state.timers.reconnect);
    for (const li of pending.values()) li.classList.remove("pending");
    pending.clear();
    updateComposer();
  }

  function renderFallback() {
    clearTimeout(state.timers.fallback);
    if (state.gotEvents || state.fallbackDone) return;
    state.fallbackDone = true;
    for (const m of state.fallback) {
      if (m.role === "interviewer") {
        const turn = turnBubble(m.turn_id || m.id);
        turn.text.textContent = m.content;
        turn.done = true;
      } else if (m.role === "respondent") {
        respondentBubble(m.id, m.content, null);
      }
    }
    const last = state.fallback[state.fallback.length - 1];
    state.awaiting = last && last.role === "interviewer" ? "respondent" : "interviewer";
    if (state.ended) closeStream(); // a finished session whose log is gone: nothing will come
    updateComposer();
  }

  // ---------------------------------------------------------------- events

  const handlers = {
    "session.started"() {
      state.awaiting = "interviewer";
    },
    "turn.started"(data) {
      const turn = turnBubble(data.turn_id);
      if (data.restart) {
        // The server lost what it had streamed of this turn and writes it again from its
        // start: what we showed is replaced, not continued (no garbled half-sentences).
        turn.text.textContent = "";
        turn.done = false;
      }
      if (!turn.done) {
        turn.li.classList.add("streaming");
        state.turnOpen = true;
      }
      state.awaiting = "interviewer";
    },
    "turn.delta"(data) {
      const turn = turnBubble(data.turn_id);
      if (turn.done) return;
      turn.li.classList.add("streaming");
      state.turnOpen = true;
      following(() => turn.text.append(data.text));
    },
    "turn.completed"(data) {
      const turn = turnBubble(data.turn_id);
      following(() => {
        turn.text.textContent = data.content;
      });
      turn.done = true;
      turn.li.classList.remove("streaming");
      if (data.item_id) turn.li.dataset.itemId = data.item_id;
      state.turnOpen = false;
      state.awaiting = "respondent";
    },
    "respondent.message"(data) {
      respondentBubble(data.message_id, data.content, data.client_message_id);
      if (state.unsent && state.unsent.clientId === data.client_message_id) {
        // A send we thought had failed did arrive: don't let it be typed twice.
        if (ui.input.value.trim() === state.unsent.content) ui.input.value = "";
        state.unsent = null;
        showError("");
      }
      state.awaiting = "interviewer";
    },
    "session.completed"(data) {
      closeStream();
      markEnded(data.reason);
    },
    "session.state"(data) {
      state.status = data.status;
      if (TERMINAL.has(data.status)) {
        closeStream();
        markEnded(data.status === "abandoned" ? "abandoned" : data.reason);
      }
    },
  };

  function onEvent(source, type, event) {
    if (source !== state.source) return; // a stream we have already replaced
    const id = event.lastEventId;
    if (id && state.lastEventId && compareIds(id, state.lastEventId) <= 0) return; // seen it
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    if (id) state.lastEventId = id;
    if (!state.gotEvents) {
      state.gotEvents = true;
      clearTimeout(state.timers.fallback);
    }
    handlers[type](data || {});
    if (!state.ended) updateComposer();
  }

  function closeStream() {
    if (state.source) {
      state.source.close();
      state.source = null;
    }
  }

  function openStream(url) {
    closeStream();
    const source = new EventSource(url);
    state.source = source;
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (event) => onEvent(source, type, event));
    }
    source.addEventListener("open", () => {
      if (source !== state.source) return;
      state.reconnectDelay = FIRST_RECONNECT_MS;
      clearConnectionTrouble();
    });
    source.addEventListener("error", () => {
      if (source !== state.source) return;
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (an expired ticket answers 401): new ticket, resume from our id.
        state.source = null;
        if (!state.gotEvents) renderFallback();
        scheduleReconnect();
      } else {
        showConnectionTrouble(); // the browser is retrying on its own, with Last-Event-ID
      }
    });
  }

  function streamUrl(eventsUrl) {
    // This page is served by the API itself: stay on its origin (the CSP allows only 'self'),
    // whatever host the server put in the link.
    const given = new URL(eventsUrl, window.location.href);
    const url = new URL(given.pathname + given.search, window.location.origin);
    if (state.lastEventId) url.searchParams.set("last_event_id", state.lastEventId);
    return url.toString();
  }

  function scheduleTicketRefresh(ttlSeconds) {
    clearTimeout(state.timers.ticket);
    const ttl = Number(ttlSeconds) || 600;
    const seconds = Math.max(5, Math.min(ttl * 0.8, ttl - 30));
    state.timers.ticket = setTimeout(() => reopen(true), seconds * 1000);
  }

  function scheduleReconnect() {
    if (state.ended || !state.session) return;
    showConnectionTrouble();
    clearTimeout(state.timers.reconnect);
    const delay = state.reconnectDelay;
    state.reconnectDelay = Math.min(delay * 4, MAX_RECONNECT_DELAY_MS);
    state.timers.reconnect = setTimeout(() => reopen(false), delay + Math.random() * 250);
  }

  /** Fresh stream links for this session, then a stream that resumes after the last event. */
  async function reopen(proactive) {
    if (state.ended || !state.session || state.reopening) return;
    state.reopening = true;
    try {
      const { id, token } = state.session;
      const res = await api("POST", `/v1/sessions/${encodeURIComponent(id)}/tickets`, undefined, token);
      if (res.status === 401 || res.status === 404) {
        sessionLost();
        return;
      }
      if (!res.ok) throw new Error(`tickets: ${res.status}`);
      if (state.ended) return;
      openStream(streamUrl(res.data.events_url));
      scheduleTicketRefresh(res.data.ticket_expires_in);
    } catch {
      if (proactive && state.source && state.source.readyState === EventSource.OPEN) {
        state.timers.ticket = setTimeout(() => reopen(true), 30000); // still streaming; try later
      } else {
        scheduleReconnect();
      }
    } finally {
      state.reopening = false;
    }
  }

  function sessionLost() {
    forget();
    closeStream();
    state.ended = true;
    clearTimeout(state.timers.ticket);
    clearTimeout(state.timers.reconnect);
    setNotice("error", TEXT.sessionLost);
    updateComposer();
  }

  // ---------------------------------------------------------------- sending

  async function postMessage(content, clientId) {
    const { id, token } = state.session;
    let delay = 500;
    for (let attempt = 0; ; attempt += 1) {
      try {
        const res = await api(
          "POST",
          `/v1/sessions/${encodeURIComponent(id)}/messages`,
          { content, client_message_id: clientId },
          token,
        );
        if (res.ok) return { ok: true };
        const transient = res.status >= 500 || res.status === 429;
        if (!transient || attempt >= SEND_RETRIES) {
          return { ok: false, status: res.status, message: errorText(res, TEXT.sendFailed) };
        }
      } catch {
        if (attempt >= SEND_RETRIES) return { ok: false, status: 0, message: TEXT.sendFailed };
      }
      await sleep(delay); // the same client_message_id again: the server keeps only one
      delay = Math.min(delay * 2, 8000);
    }
  }

  async function send() {
    if (!canSend()) return;
    const content = ui.input.value.trim();
    if (!content) {
      showError(TEXT.empty);
      return;
    }
    const clientId =
      state.unsent && state.unsent.content === content ? state.unsent.clientId : newClientId();
    showError("");
    const li = addMessage("respondent", content);
    li.classList.add("pending");
    li.dataset.clientMessageId = clientId;
    pending.set(clientId, li);
    ui.input.value = "";
    state.sending = true;
    updateComposer();
    const result = await postMessage(content, clientId);
    state.sending = false;
    if (result.ok) {
      if (state.unsent && state.unsent.clientId === clientId) state.unsent = null;
    } else if (pending.get(clientId) === li) {
      // Not seen on the stream: take it back and give the text back to the respondent.
      pending.delete(clientId);
      li.remove();
      if (!ui.input.value) ui.input.value = content;
      // A lost connection may have hidden a success: a resend reuses the id.
      state.unsent = result.status === 0 ? { content, clientId } : null;
      if (result.status === 401) sessionLost();
      showError(result.message);
    }
    if (!state.ended) updateComposer();
  }

  async function endConversation() {
    if (!state.session || state.ended || state.endRequested) return;
    if (!window.confirm("End this conversation now? You won't be able to continue it.")) return;
    state.endRequested = true;
    updateComposer();
    try {
      const { id, token } = state.session;
      const res = await api("POST", `/v1/sessions/${encodeURIComponent(id)}/end`, undefined, token);
      if (!res.ok) {
        state.endRequested = false;
        showError(errorText(res, TEXT.endFailed));
      } else if (!state.source && TERMINAL.has(res.data && res.data.status)) {
        markEnded("ended_by_respondent"); // no stream to tell us
      }
      // Otherwise session.completed arrives on the stream (after any turn in flight).
    } catch {
      state.endRequested = false;
      showError(TEXT.endFailed);
    }
    if (!state.ended) updateComposer();
  }

  // ---------------------------------------------------------------- start

  function begin(session) {
    state.session = { id: session.session_id, token: session.session_token };
    state.status = session.status;
    state.fallback = Array.isArray(session.messages) ? session.messages : [];
    store(session.session_id, session.session_token);
    ui.messages.replaceChildren();
    turns.clear();
    said.clear();
    pending.clear();
    ui.composer.hidden = false;
    if (TERMINAL.has(session.status)) {
      markEnded(session.status === "abandoned" ? "abandoned" : null);
    }
    updateComposer();
    state.timers.fallback = setTimeout(renderFallback, FALLBACK_AFTER_MS);
    openStream(streamUrl(session.events_url));
    if (!state.ended) scheduleTicketRefresh(session.ticket_expires_in);
  }

  async function main() {
    const match = /^\/i\/([^/]+)\/?$/.exec(window.location.pathname);
    if (!match) {
      notFound();
      return;
    }
    state.shareToken = decodeURIComponent(match[1]);
    const base = `/v1/public/interviews/${encodeURIComponent(state.shareToken)}`;

    let info;
    try {
      const res = await api("GET", base);
      if (res.status === 404) return notFound();
      if (!res.ok) return failed(errorText(res, TEXT.failed));
      info = res.data;
    } catch {
      return failed(TEXT.failed);
    }
    ui.title.textContent = info.title;
    document.title = info.title;
    if (info.language) document.documentElement.lang = info.language;
    el("privacy").hidden = !info.anonymous;

    let session = null;
    try {
      const stored = loadStored();
      if (stored) {
        const res = await api("POST", `${base}/sessions`, { session_token: stored.session_token });
        if (res.status === 200) session = res.data;
        else if (res.status === 401) forget();
        else if (res.status === 404) return notFound();
        else return failed(errorText(res, TEXT.failed));
      }
      if (!session) {
        if (!info.accepting_sessions) return unavailable(info.status);
        const res = await api("POST", `${base}/sessions`, {});
        if (res.status === 409) {
          // The interview changed since we asked (paused, closed): say what the server said.
          setNotice("unavailable", errorText(res, TEXT.paused));
          ui.composer.hidden = true;
          return;
        }
        if (res.status === 404) return notFound();
        if (res.status !== 201) return failed(errorText(res, TEXT.failed));
        session = res.data;
      }
    } catch {
      return failed(TEXT.failed);
    }
    begin(session);
  }

  ui.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  ui.input.addEventListener("keydown", (event) => {
    if (
      event.key === "Enter" &&
      !event.shiftKey &&
      !event.isComposing &&
      !event.altKey &&
      !event.ctrlKey &&
      !event.metaKey
    ) {
      event.preventDefault();
      send();
    }
  });
  ui.end.addEventListener("click", endConversation);
  window.addEventListener("online", () => {
    if (state.session && !state.ended && !state.source) reopen(false);
  });
  window.addEventListener("pagehide", (event) => {
    if (event.persisted) closeStream(); // entering the back/forward cache
  });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && state.session && !state.ended) reopen(false);
  });

  main();
})();
