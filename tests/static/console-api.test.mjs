// The console's API client (static/console/api.js): the key is sent once, to be exchanged;
// only the ticket is kept (in memory), renewed before it expires, dropped on a 401.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Api, ApiError, withQuery } from "../../static/console/api.js";

function fakeFetch(replies) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, init });
    const [status, body] = replies.shift();
    return { ok: status < 400, status, json: async () => body };
  };
  return { fetch, calls };
}

const TIMERS = { setTimeout: (fn, ms) => ({ fn, ms }), clearTimeout: () => {} };

test("signing in sends the key once and keeps only the ticket", async () => {
  const expires = new Date(Date.now() + 900000).toISOString();
  const { fetch, calls } = fakeFetch([
    [201, { ticket: "ct_one", expires_at: expires, key_id: "key_1", scopes: ["sessions:read"], workspace_id: "ws" }],
    [200, { items: [] }],
  ]);
  const api = new Api({ fetch, ...TIMERS });
  await api.signIn("  rk_live_secret  ");
  assert.equal(calls[0].init.headers.authorization, "Bearer rk_live_secret");
  assert.equal(api.ticket, "ct_one");
  assert.equal(JSON.stringify(api).includes("rk_live"), false, "the key is kept nowhere");
  assert.ok(api.renewal.ms > 500000 && api.renewal.ms <= 600000, "renewed at two thirds of its life");
  await api.get("/v1/interviews", { limit: 100, cursor: "" });
  assert.equal(calls[1].url, "/v1/interviews?limit=100");
  assert.equal(calls[1].init.headers.authorization, "Bearer ct_one");
});

test("a 401 signs out; renewal replaces the ticket", async () => {
  const expires = new Date(Date.now() + 900000).toISOString();
  const { fetch, calls } = fakeFetch([
    [201, { ticket: "ct_one", expires_at: expires, key_id: "key_1", scopes: [], workspace_id: "ws" }],
    [201, { ticket: "ct_two", expires_at: expires, key_id: "key_1", scopes: [], workspace_id: "ws" }],
    [401, { error: { code: "unauthorized", message: "this API key is not valid" } }],
  ]);
  const reasons = [];
  const api = new Api({ fetch, ...TIMERS, onSignedOut: (reason) => reasons.push(reason) });
  await api.signIn("rk_live_x");
  await api.renew();
  assert.equal(calls[1].init.headers.authorization, "Bearer ct_one", "renewed with the ticket itself");
  assert.equal(api.ticket, "ct_two");
  await assert.rejects(api.get("/v1/interviews"), (error) => error instanceof ApiError && error.status === 401);
  assert.equal(api.ticket, null);
  assert.deepEqual(reasons, ["this API key is not valid"]);
});

test("query strings leave out empty values", () => {
  assert.equal(withQuery("/p", { a: 1, b: "", c: null, d: "x y" }), "/p?a=1&d=x+y");
  assert.equal(withQuery("/p"), "/p");
});
