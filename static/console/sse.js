// Server-Sent Events read with fetch(), so the console can send its ticket as a Bearer header
// (an EventSource cannot send headers). The parser follows the HTML standard's event-stream
// rules; the stream reconnects after the last event id it saw, as EventSource would.

/** One event-stream parser: feed it text as it arrives, in any pieces. */
export class SseParser {
  constructor() {
    this.buffer = "";
    this.data = [];
    this.event = "";
    this.lastEventId = "";
    this.retry = null;
    this.pendingCR = false;
  }

  /** Parses a chunk of text; returns the events it completed: {id, event, data, retry}. */
  push(chunk) {
    let text = chunk;
    // A CR at the end of the previous chunk may be the first half of a CRLF.
    if (this.pendingCR && text.startsWith("\n")) text = text.slice(1);
    this.pendingCR = false;
    this.buffer += text;
    const events = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      const line = this.buffer.slice(0, match.index);
      const end = match.index + match[0].length;
      if (match[0] === "\r" && end === this.buffer.length) this.pendingCR = true;
      this.buffer = this.buffer.slice(end);
      const done = this.line(line);
      if (done) events.push(done);
    }
    return events;
  }

  line(line) {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return null; // a comment (the server's heartbeat)
    const colon = line.indexOf(":");
    const name = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "data") this.data.push(value);
    else if (name === "event") this.event = value;
    else if (name === "id" && !value.includes("\0")) this.lastEventId = value;
    else if (name === "retry" && /^[0-9]+$/.test(value)) this.retry = Number(value);
    return null;
  }

  dispatch() {
    const data = this.data;
    const type = this.event || "message";
    this.data = [];
    this.event = "";
    if (data.length === 0) return null; // the standard: no data, no event
    return { id: this.lastEventId, event: type, data: data.join("\n"), retry: this.retry };
  }
}

export const DEFAULT_RETRY_MS = 1000;
export const MAX_RETRY_MS = 30000;

/** Statuses after which reconnecting cannot help: the credential or the resource is gone. */
export const FINAL_STATUSES = new Set([400, 401, 403, 404, 410]);

export class StreamClosed extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * A resumable stream: `start()` opens it and keeps it open, reconnecting after a dropped
 * connection with `Last-Event-ID`, until `stop()`, a final status, or `isLast(event)`.
 *
 * options: url, token() (the current credential), onEvent(event), onState(state, detail),
 * isLast(event), fetch, setTimeout, clearTimeout, lastEventId.
 */
export class EventFeed {
  constructor(options) {
    this.url = options.url;
    this.token = options.token;
    this.onEvent = options.onEvent;
    this.onState = options.onState || (() => {});
    this.isLast = options.isLast || (() => false);
    this.fetch = options.fetch || globalThis.fetch.bind(globalThis);
    this.setTimeout = options.setTimeout || globalThis.setTimeout.bind(globalThis);
    this.clearTimeout = options.clearTimeout || globalThis.clearTimeout.bind(globalThis);
    this.lastEventId = options.lastEventId || "";
    this.retryMs = DEFAULT_RETRY_MS;
    this.failures = 0;
    this.stopped = false;
    this.controller = null;
    this.timer = null;
    this.done = null;
  }

  start() {
    this.stopped = false;
    this.done = this.run();
    return this.done;
  }

  stop() {
    this.stopped = true;
    if (this.timer !== null) this.clearTimeout(this.timer);
    this.timer = null;
    if (this.controller) this.controller.abort();
  }

  async run() {
    while (!this.stopped) {
      let outcome;
      try {
        outcome = await this.once();
      } catch (error) {
        if (error instanceof StreamClosed) {
          this.stopped = true;
          this.onState("closed", error);
          return error.status;
        }
        if (this.stopped) break;
        outcome = "dropped";
      }
      if (outcome === "last") {
        this.stopped = true;
        this.onState("ended");
        return 200;
      }
      if (this.stopped) break;
      this.failures = outcome === "dropped" ? this.failures + 1 : 0;
      this.onState("reconnecting");
      await this.wait(this.backoff());
    }
    return 0;
  }

  backoff() {
    return Math.min(this.retryMs * 2 ** Math.min(this.failures, 5), MAX_RETRY_MS);
  }

  wait(ms) {
    return new Promise((resolve) => {
      this.timer = this.setTimeout(() => {
        this.timer = null;
        resolve();
      }, ms);
    });
  }

  /** One connection: "last" after the last event, "ended" when the server ended the body. */
  async once() {
    this.controller = new AbortController();
    const headers = { accept: "text/event-stream", authorization: `Bearer ${this.token()}` };
    if (this.lastEventId) headers["last-event-id"] = this.lastEventId;
    const response = await this.fetch(this.url, { headers, signal: this.controller.signal, cache: "no-store" });
    if (!response.ok) {
      const message = await errorMessage(response);
      if (FINAL_STATUSES.has(response.status)) throw new StreamClosed(response.status, message);
      throw new Error(message);
    }
    this.onState("open");
    const parser = new SseParser();
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const event of parser.push(decoder.decode(value, { stream: true }))) {
        if (event.retry !== null) this.retryMs = event.retry;
        if (event.id) this.lastEventId = event.id;
        this.failures = 0;
        this.onEvent(event);
        if (this.isLast(event)) {
          this.controller.abort();
          return "last";
        }
      }
    }
    return "ended";
  }
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    return (body && body.error && body.error.message) || `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}
