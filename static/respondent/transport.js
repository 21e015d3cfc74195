/* A session's event stream, over WebSocket when the browser and the network allow it,
 * else over SSE; resumed after the last event through every drop, with fresh tickets.
 *
 * A transport is {close(), isOpen(), renewsTicket}: it delivers {id, event, data} to
 * `on.event`, says `on.open()` once connected, `on.trouble()` while its browser retries by
 * itself, and `on.closed({opened})` when it has given up. `Stream` chooses one, reconnects
 * with back-off and keeps the tickets fresh. Messages and the end are posted over HTTP
 * (their answers' statuses drive the retries; a WebSocket error frame names no request).
 * Voice mode (respondent/voice-control.js) speaks over the same WebSocket: `send` and
 * `sendBinary` write to it, its other JSON frames go to `on.frame` and its binary frames to
 * `on.audio`; `wantSocket()` moves a page that fell back to SSE onto a socket again.
 * Browser APIs come in through `env`, so node tests pass fakes.
 */

import { EVENT_TYPES } from "./conversation.js";

export const FIRST_RECONNECT_MS = 250; // an expired ticket is fixed at once; then back off
export const MAX_RECONNECT_DELAY_MS = 30000;
const REFRESH_RETRY_MS = 30000;

/** The links the server gave (`events_url`, `ws_url`), moved onto `apiOrigin` (whatever host
 * the server put in them: the page's CSP allows only its origin), resuming after `lastId`. */
export function streamUrls(links, apiOrigin, lastId) {
  const origin = new URL(apiOrigin);
  const rebase = (given, scheme) => {
    if (!given) return null;
    const path = new URL(given, origin);
    const url = new URL(path.pathname + path.search, origin);
    if (scheme) url.protocol = scheme;
    if (lastId) url.searchParams.set("last_event_id", lastId);
    return url.toString();
  };
  return {
    sse: rebase(links.events_url, null),
    ws: rebase(links.ws_url, origin.protocol === "https:" ? "wss:" : "ws:"),
  };
}

/** Seconds after which a ticket that lives `ttlSeconds` is replaced. */
export function refreshAfter(ttlSeconds) {
  const ttl = Number(ttlSeconds) || 600;
  return Math.max(5, Math.min(ttl * 0.8, ttl - 30));
}

function parse(raw) {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/** EventSource: the browser reconnects by itself with Last-Event-ID, on the same URL, so
 * the ticket in it must stay valid (`renewsTicket`). */
export function openSse(url, on, env) {
  const source = new env.EventSource(url);
  let live = true;
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, (message) => {
      if (!live) return;
      const data = parse(message.data);
      if (data !== undefined) on.event({ id: message.lastEventId, event: type, data });
    });
  }
  source.addEventListener("open", () => live && on.open());
  source.addEventListener("error", () => {
    if (!live) return;
    if (source.readyState === env.EventSource.CLOSED) {
      // The browser gave up (an expired ticket answers 401).
      live = false;
      on.closed({ opened: true });
    } else {
      on.trouble(); // the browser is retrying on its own, with Last-Event-ID
    }
  });
  return {
    renewsTicket: true,
    isOpen: () => live && source.readyState === env.EventSource.OPEN,
    send: () => false, // SSE only listens
    close() {
      live = false;
      source.close();
    },
  };
}

/** WebSocket: a ticket is checked only when it opens, and every reconnect gets a fresh one.
 * `opened` false on close: it never connected (a proxy without upgrades, say). */
export function openWebSocket(url, on, env) {
  let live = true;
  let opened = false;
  let socket;
  const gone = () => {
    if (!live) return;
    live = false;
    on.closed({ opened });
  };
  try {
    socket = new env.WebSocket(url);
  } catch {
    env.setTimeout(gone, 0); // refused outright (a policy): report it like a failed open
    const none = () => false;
    return { renewsTicket: false, isOpen: none, send: none, close: () => (live = false) };
  }
  socket.binaryType = "arraybuffer"; // the interviewer's audio, as PCM bytes
  socket.addEventListener("open", () => {
    if (!live) return;
    opened = true;
    on.open();
  });
  socket.addEventListener("message", (message) => {
    if (!live) return;
    if (typeof message.data !== "string") {
      if (on.audio) on.audio(message.data);
      return;
    }
    const frame = parse(message.data);
    // Events carry an id; the rest (voice mode's frames, acks, errors, pongs) are frames.
    if (frame && typeof frame.event === "string" && frame.id) {
      on.event({ id: String(frame.id), event: frame.event, data: frame.data });
    } else if (frame && typeof frame.type === "string" && on.frame) {
      on.frame(frame);
    }
  });
  socket.addEventListener("close", gone);
  const isOpen = () => live && socket.readyState === env.WebSocket.OPEN;
  return {
    renewsTicket: false,
    isOpen,
    /** Whether `data` (a JSON value, or bytes as they are) was handed to an open socket. */
    send(data) {
      if (!isOpen()) return false;
      socket.send(data instanceof ArrayBuffer ? data : JSON.stringify(data));
      return true;
    },
    close() {
      live = false;
      socket.close(1000);
    },
  };
}

/** One session's stream for as long as the page shows it: `start(links)` once, `stop()`
 * when the conversation has ended; `start(links, {replayOnly: true})` reads an ended
 * session's log once (no reconnecting, no ticket renewal). `tickets()` resolves to fresh
 * links, or null when the session is gone (`on.lost`); `lastEventId()` is where a new
 * connection resumes. `on.dropped()`: a connection gave up (before any reconnect). */
export class Stream {
  constructor({ apiOrigin, tickets, lastEventId, on, env }) {
    this.apiOrigin = apiOrigin;
    this.tickets = tickets;
    this.lastEventId = lastEventId;
    this.on = on;
    this.env = env;
    this.transport = null;
    this.socketsWork = null; // null: not tried yet; false: fall back to SSE for good
    this.stopped = false;
    this.replayOnly = false;
    this.reopening = false;
    this.delay = FIRST_RECONNECT_MS;
    this.timers = { ticket: 0, reconnect: 0 };
  }

  /** The kind of the transport in use, for tests and diagnostics. */
  get kind() {
    return this.transport ? this.transport.kind : null;
  }

  start(links, { replayOnly = false } = {}) {
    this.replayOnly = replayOnly;
    this.connect(links);
  }

  connect(links) {
    this.close();
    const urls = streamUrls(links, this.apiOrigin, this.lastEventId());
    const haveSocket = typeof this.env.WebSocket === "function";
    const useSocket = urls.ws && haveSocket && this.socketsWork !== false;
    const kind = useSocket ? "websocket" : "sse";
    let transport;
    const handlers = {
      event: (event) => transport === this.transport && this.on.event(event),
      frame: (frame) => transport === this.transport && this.on.frame && this.on.frame(frame),
      audio: (data) => transport === this.transport && this.on.audio && this.on.audio(data),
      open: () => {
        if (transport !== this.transport) return;
        if (kind === "websocket") this.socketsWork = true;
        this.delay = FIRST_RECONNECT_MS;
        this.on.open();
      },
      trouble: () => transport === this.transport && this.on.trouble(),
      closed: ({ opened }) => {
        if (transport !== this.transport) return;
        this.transport = null;
        if (kind === "websocket" && !opened && this.socketsWork === null) {
          this.socketsWork = false; // never connected on this page: SSE from now on
          this.connect(links);
          return;
        }
        this.on.dropped();
        this.scheduleReconnect();
      },
    };
    transport = useSocket
      ? openWebSocket(urls.ws, handlers, this.env)
      : openSse(urls.sse, handlers, this.env);
    transport.kind = kind;
    this.transport = transport;
    this.env.clearTimeout(this.timers.ticket);
    if (transport.renewsTicket && !this.replayOnly) {
      const seconds = refreshAfter(links.ticket_expires_in);
      this.timers.ticket = this.env.setTimeout(() => this.reopen(true), seconds * 1000);
    }
  }

  scheduleReconnect() {
    if (this.stopped || this.replayOnly) return;
    this.on.trouble();
    this.env.clearTimeout(this.timers.reconnect);
    const delay = this.delay;
    this.delay = Math.min(delay * 4, MAX_RECONNECT_DELAY_MS);
    const jitter = (this.env.random || Math.random)() * 250;
    this.timers.reconnect = this.env.setTimeout(() => this.reopen(false), delay + jitter);
  }

  /** Fresh links for this session, then a connection that resumes after the last event. */
  async reopen(proactive) {
    if (this.stopped || this.reopening) return;
    this.reopening = true;
    try {
      const links = await this.tickets();
      if (this.stopped) return;
      if (links === null) {
        this.stop();
        this.on.lost();
        return;
      }
      this.connect(links);
    } catch {
      if (proactive && this.transport && this.transport.isOpen()) {
        // Still streaming: try again later.
        this.timers.ticket = this.env.setTimeout(() => this.reopen(true), REFRESH_RETRY_MS);
      } else {
        this.scheduleReconnect();
      }
    } finally {
      this.reopening = false;
    }
  }

  /** Whether a JSON frame, or an ArrayBuffer as a binary frame, went out on an open socket. */
  send(data) {
    return Boolean(this.transport && this.transport.send(data));
  }

  /** Whether the stream is, or may become, a WebSocket; one on SSE because sockets failed
   * earlier tries one again (voice needs it), resuming after the last event. */
  wantSocket() {
    if (typeof this.env.WebSocket !== "function" || this.stopped || this.replayOnly) return false;
    if (this.kind === "websocket") return true;
    if (this.socketsWork === false) {
      this.socketsWork = null;
      if (this.transport) {
        this.close();
        this.reopen(false);
      }
    }
    return true;
  }

  /** Reconnect now if nothing is connected (the network is back, the page is shown again). */
  resume() {
    if (!this.stopped && !this.replayOnly && !this.transport) this.reopen(false);
  }

  /** Drop the connection (the page goes into the back/forward cache); `resume` reopens. */
  close() {
    if (this.transport) {
      this.transport.close();
      this.transport = null;
    }
  }

  stop() {
    this.stopped = true;
    this.close();
    this.env.clearTimeout(this.timers.ticket);
    this.env.clearTimeout(this.timers.reconnect);
  }
}
