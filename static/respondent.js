/* Rapport respondent page: one interview conversation over the public API and its stream.
 *
 * An ES module, no build step, no inline code (the page CSP forbids it). `mount(root,
 * options)` runs one conversation in `root` (see respondent/view.js for the markup it
 * needs); loading this module mounts every `[data-rapport-respondent]` element of the
 * document. The conversation is rendered from the session's event stream, which replays
 * the whole log when opened without a last event id; the start/resume response's
 * `messages` are only a fallback for when the stream has nothing (the log has expired).
 *
 * Options (or the root's data attributes): `apiOrigin` / data-api-origin, the API's origin
 * (default: this page's); `shareToken` / data-share-token (default: from /i/<token>);
 * `ownDocument`, whether the view also sets the document's title and language.
 *
 * Voice mode (respondent/voice-control.js) comes with the interview's `modes`, loaded only
 * for an interview that has it (a text interview's page loads what it always did): it speaks
 * over the same session WebSocket and the conversation shows in the same log.
 */

import {
  canSend,
  endsStream,
  initial,
  pendingMessage,
  reduce,
  TERMINAL,
  TEXT,
} from "./respondent/conversation.js";
import { Stream } from "./respondent/transport.js";
import { createView } from "./respondent/view.js";

// Until voice mode is loaded (and in a text interview, for good): typing, no voice frames.
const NO_VOICE = {
  typing: () => true,
  offer() {},
  event() {},
  frame() {},
  audio() {},
  opened() {},
  dropped() {},
  ended() {},
  destroy() {},
};

const FALLBACK_AFTER_MS = 2000; // stream silent this long: show the messages we were given
const SEND_RETRIES = 5;

function newClientId(crypto) {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  // randomUUID needs a secure context; getRandomValues does not.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function errorText(res, fallback) {
  const message = res && res.data && res.data.error && res.data.error.message;
  if (!message) return fallback;
  return message.charAt(0).toUpperCase() + message.slice(1);
}

function shareTokenOf(pathname) {
  const match = /^\/i\/([^/]+)\/?$/.exec(pathname);
  return match ? decodeURIComponent(match[1]) : "";
}

/** Runs one conversation in `root`; returns {unmount}. */
export function mount(root, options = {}) {
  const win = root.ownerDocument.defaultView;
  const given = options.apiOrigin || root.dataset.apiOrigin || win.location.origin;
  const apiOrigin = new URL(given).origin;
  const shareToken =
    options.shareToken || root.dataset.shareToken || shareTokenOf(win.location.pathname);
  const storageKey = `rapport:session:${shareToken}`;
  const sleep = (ms) => new Promise((resolve) => win.setTimeout(resolve, ms));

  let state = initial();
  let session = null; // {id, token}
  let stream = null;
  let fallbackTimer = 0;
  let unmounted = false; // requests still under way when it was unmounted change nothing

  const view = createView(root, {
    onSend: () => send(),
    onEnd: () => endConversation(),
    ownDocument: Boolean(options.ownDocument),
  });
  let voice = NO_VOICE;
  const render = () => view.render(state, { typing: voice.typing() });

  function dispatch(action) {
    if (unmounted) return;
    const before = state;
    state = reduce(state, action);
    if (state.gotEvents && !before.gotEvents) win.clearTimeout(fallbackTimer);
    const last = action.type === "event" && endsStream(action);
    if ((state.ended && !before.ended) || last) {
      win.clearTimeout(fallbackTimer);
      if (stream) stream.stop();
    }
    if (state.lost && !before.lost) forget();
    if (before.unsent && !state.unsent && action.type === "event") {
      // The send we thought had failed arrived: drop the copy waiting in the box.
      if (view.draft().trim() === before.unsent.content) view.setDraft("");
    }
    if (action.type === "event" && state !== before) voice.event(action);
    if (state.ended && !before.ended) voice.ended();
    render();
  }

  // ---------------------------------------------------------------- the API

  async function api(method, path, body, token) {
    const headers = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (token) headers.authorization = `Bearer ${token}`;
    const response = await win.fetch(new URL(path, apiOrigin), {
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

  const sessionPath = (suffix) => `/v1/sessions/${encodeURIComponent(session.id)}/${suffix}`;

  function loadStored() {
    try {
      const value = JSON.parse(win.localStorage.getItem(storageKey) || "null");
      const valid = value && typeof value.session_id === "string";
      if (valid && typeof value.session_token === "string") return value;
    } catch {
      /* storage unavailable or corrupt: start afresh */
    }
    return null;
  }

  function store(sessionId, token) {
    try {
      const value = JSON.stringify({ session_id: sessionId, session_token: token });
      win.localStorage.setItem(storageKey, value);
    } catch {
      /* private mode: the conversation just won't survive a reload */
    }
  }

  function forget() {
    try {
      win.localStorage.removeItem(storageKey);
    } catch {
      /* nothing to do */
    }
  }

  /** Fresh stream links, or null when the session is no longer ours. */
  async function tickets() {
    const res = await api("POST", sessionPath("tickets"), undefined, session.token);
    if (res.status === 401 || res.status === 404) return null;
    if (!res.ok) throw new Error(`tickets: ${res.status}`);
    return res.data;
  }

  // ---------------------------------------------------------------- sending

  async function postMessage(content, clientId) {
    let delay = 500;
    for (let attempt = 0; ; attempt += 1) {
      try {
        const res = await api(
          "POST",
          sessionPath("messages"),
          { content, client_message_id: clientId },
          session.token,
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
    if (!canSend(state)) return;
    const content = view.draft().trim();
    if (!content) {
      dispatch({ type: "empty" });
      return;
    }
    const resend = state.unsent && state.unsent.content === content;
    const clientId = resend ? state.unsent.clientId : newClientId(win.crypto);
    view.setDraft("");
    dispatch({ type: "send", content, clientId });
    const result = await postMessage(content, clientId);
    if (result.ok) {
      dispatch({ type: "sent", clientId });
      return;
    }
    // Not seen on the stream: the text goes back to the respondent.
    if (pendingMessage(state, clientId) && !view.draft()) view.setDraft(content);
    const { status, message } = result;
    dispatch({ type: "sendFailed", clientId, content, status, message });
  }

  async function endConversation() {
    if (!session || state.ended || state.endRequested) return;
    if (!view.confirmEnd()) return;
    dispatch({ type: "endRequested" });
    try {
      const res = await api("POST", sessionPath("end"), undefined, session.token);
      const ended = res.ok && TERMINAL.has(res.data && res.data.status);
      if (!res.ok) dispatch({ type: "endFailed", message: errorText(res, TEXT.endFailed) });
      else if (ended && !stream.transport) dispatch({ type: "endedHere" }); // no stream to tell
      // Otherwise session.completed arrives on the stream (after any turn in flight).
    } catch {
      dispatch({ type: "endFailed", message: TEXT.endFailed });
    }
  }

  // ---------------------------------------------------------------- start

  function begin(started, info) {
    if (unmounted) return;
    session = { id: started.session_id, token: started.session_token };
    store(started.session_id, started.session_token);
    dispatch({ type: "begin", session: started });
    if (!state.ended) offerVoice(info);
    stream = new Stream({
      apiOrigin,
      tickets,
      lastEventId: () => state.lastEventId,
      on: {
        event: (event) => dispatch({ type: "event", ...event }),
        frame: (frame) => voice.frame(frame),
        audio: (data) => voice.audio(data),
        open: () => {
          dispatch({ type: "connected" });
          voice.opened();
        },
        trouble: () => dispatch({ type: "trouble" }),
        dropped: () => {
          dispatch({ type: "fallback" });
          voice.dropped();
        },
        lost: () => dispatch({ type: "lost" }),
      },
      env: win,
    });
    fallbackTimer = win.setTimeout(() => {
      dispatch({ type: "fallback" });
      // A finished session whose log is gone: nothing will come.
      if (state.ended) stream.stop();
    }, FALLBACK_AFTER_MS);
    // Even an ended session's stream is read, once: it replays the conversation.
    stream.start(started, { replayOnly: state.ended });
  }

  /** Talking or typing: asked once there is a session, of an interview that has voice. */
  async function offerVoice(info) {
    if (!Array.isArray(info.modes) || !info.modes.includes("voice")) return;
    voice = { ...NO_VOICE, typing: () => false }; // the choice comes first: no composer flash
    render();
    let createVoice;
    try {
      ({ createVoice } = await import("./respondent/voice-control.js"));
    } catch {
      voice = NO_VOICE; // the modules did not load: the page stays a typed conversation
      render();
      return;
    }
    if (unmounted || state.ended) return;
    voice = createVoice({
      root,
      env: win,
      stream: () => stream,
      onChange: () => !unmounted && render(),
    });
    voice.offer(info);
    const last = state.messages.filter((m) => m.role === "interviewer").pop();
    if (last) voice.caption(last.turnId, last.text);
    render();
  }

  async function start() {
    if (!shareToken) return dispatch({ type: "notFound" });
    const base = `/v1/public/interviews/${encodeURIComponent(shareToken)}`;
    let info;
    try {
      const res = await api("GET", base);
      if (res.status === 404) return dispatch({ type: "notFound" });
      if (!res.ok) return dispatch({ type: "failed", message: errorText(res, TEXT.failed) });
      info = res.data;
    } catch {
      return dispatch({ type: "failed", message: TEXT.failed });
    }
    dispatch({ type: "info", info });

    let started = null;
    try {
      const stored = loadStored();
      if (stored) {
        const res = await api("POST", `${base}/sessions`, { session_token: stored.session_token });
        if (res.status === 200) started = res.data;
        else if (res.status === 401) forget();
        else if (res.status === 404) return dispatch({ type: "notFound" });
        else return dispatch({ type: "failed", message: errorText(res, TEXT.failed) });
      }
      if (!started) {
        if (!info.accepting_sessions) return dispatch({ type: "unavailable", status: info.status });
        const res = await api("POST", `${base}/sessions`, {});
        if (res.status === 409) {
          return dispatch({ type: "refused", message: errorText(res, TEXT.paused) });
        }
        if (res.status === 404) return dispatch({ type: "notFound" });
        if (res.status !== 201) {
          return dispatch({ type: "failed", message: errorText(res, TEXT.failed) });
        }
        started = res.data;
      }
    } catch {
      return dispatch({ type: "failed", message: TEXT.failed });
    }
    begin(started, info);
  }

  const online = () => stream && stream.resume();
  const pagehide = (event) => {
    if (event.persisted && stream) stream.close(); // entering the back/forward cache
  };
  const pageshow = (event) => {
    if (event.persisted && stream) stream.resume();
  };
  win.addEventListener("online", online);
  win.addEventListener("pagehide", pagehide);
  win.addEventListener("pageshow", pageshow);

  render();
  start();

  return {
    unmount() {
      unmounted = true;
      if (stream) stream.stop();
      win.clearTimeout(fallbackTimer);
      win.removeEventListener("online", online);
      win.removeEventListener("pagehide", pagehide);
      win.removeEventListener("pageshow", pageshow);
      voice.destroy();
      view.destroy();
    },
  };
}

const roots = document.querySelectorAll("[data-rapport-respondent]");
for (const root of roots) mount(root, { ownDocument: roots.length === 1 });
