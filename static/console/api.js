// The console's calls to the API, made with its console ticket. The ticket lives in this
// module's memory only: never the API key, never any storage; a reload signs in again.

import { renewDelay } from "./state.js";

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || null;
  }
}

export class Api {
  constructor(options = {}) {
    this.fetch = options.fetch || globalThis.fetch.bind(globalThis);
    this.setTimeout = options.setTimeout || globalThis.setTimeout.bind(globalThis);
    this.clearTimeout = options.clearTimeout || globalThis.clearTimeout.bind(globalThis);
    this.onSignedOut = options.onSignedOut || (() => {});
    this.ticket = null;
    this.signedIn = null; // the ticket's view: key_id, scopes, workspace_id, expires_at
    this.renewal = null;
  }

  /** Exchanges an API key for a ticket; the key is used for this one request only. */
  async signIn(apiKey) {
    const issued = await this.request("POST", "/v1/console/tickets", { credential: apiKey.trim() });
    this.hold(issued);
    return issued;
  }

  hold(issued) {
    this.ticket = issued.ticket;
    this.signedIn = { ...issued, ticket: undefined };
    if (this.renewal !== null) this.clearTimeout(this.renewal);
    this.renewal = this.setTimeout(() => this.renew(), renewDelay(Date.now(), issued.expires_at));
  }

  async renew() {
    this.renewal = null;
    try {
      this.hold(await this.request("POST", "/v1/console/tickets"));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) this.forget(error.message);
      else this.renewal = this.setTimeout(() => this.renew(), 5000);
    }
  }

  async signOut() {
    const ticket = this.ticket;
    this.forget("");
    if (!ticket) return;
    try {
      await this.request("DELETE", "/v1/console/tickets/current", { credential: ticket });
    } catch {
      // Signed out here all the same: the ticket is dropped and expires on its own.
    }
  }

  forget(reason) {
    if (this.renewal !== null) this.clearTimeout(this.renewal);
    this.renewal = null;
    const was = this.ticket;
    this.ticket = null;
    this.signedIn = null;
    if (was) this.onSignedOut(reason);
  }

  token() {
    return this.ticket || "";
  }

  get(path, query) {
    return this.request("GET", withQuery(path, query));
  }

  post(path, body) {
    return this.request("POST", path, { body });
  }

  patch(path, body) {
    return this.request("PATCH", path, { body });
  }

  delete(path) {
    return this.request("DELETE", path);
  }

  async request(method, path, { body, credential } = {}) {
    const headers = { accept: "application/json" };
    const bearer = credential || this.ticket;
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    const init = { method, headers, cache: "no-store" };
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await this.fetch(path, init);
    if (response.status === 204) return null;
    const parsed = await response.json().catch(() => null);
    if (!response.ok) {
      const error = (parsed && parsed.error) || {};
      const failure = new ApiError(response.status, error.code || "error", error.message || `HTTP ${response.status}`, error.field);
      // A revoked key or an expired ticket: the console is signed out, whatever it was doing.
      if (response.status === 401 && !credential && this.ticket) this.forget(failure.message);
      throw failure;
    }
    return parsed;
  }
}

export function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}
