import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiClient, ApiError } from "../src/api.js";

const answer = (status: number, body: string, type = "application/json") =>
  async () => new Response(body, { status, statusText: status === 404 ? "Not Found" : "", headers: { "content-type": type } });

test("the API's error body becomes the message shown", async () => {
  const client = new ApiClient(() => "t", answer(409, '{"error": {"code": "not_ready", "message": "the analysis is not ready"}}'));
  await assert.rejects(client.analysis("a".repeat(32)), (error: unknown) =>
    error instanceof ApiError && error.status === 409 && error.code === "not_ready" && error.message === "the analysis is not ready");
});

test("a body that is not the API's still gives a readable error", async () => {
  const client = new ApiClient(() => "t", answer(502, "<html>bad gateway</html>", "text/html"));
  await assert.rejects(client.videos(), (error: unknown) =>
    error instanceof ApiError && error.code === "http_502" && /502/.test(error.message));
});

test("401 says to sign in again and marks the session over", async () => {
  const client = new ApiClient(() => "expired", answer(401, '{"error": {"code": "unauthorized", "message": "the token has expired"}}'));
  await assert.rejects(client.videos(), (error: unknown) =>
    error instanceof ApiError && error.signedOut && /sign in again/.test(error.message));
});

test("a network failure is an ApiError too", async () => {
  const client = new ApiClient(() => null, async () => { throw new TypeError("Failed to fetch"); });
  await assert.rejects(client.classify(["Is it red?"]), (error: unknown) =>
    error instanceof ApiError && error.status === 0 && /cannot reach the server/.test(error.message));
});

test("requests carry the bearer token and a JSON body", async () => {
  let seen: { url: string; init?: RequestInit } | undefined;
  const client = new ApiClient(() => "tok", async (url, init) => {
    seen = { url, init };
    return new Response('{"model_version": "m1", "results": []}', { status: 200 });
  });
  assert.equal((await client.classify(["a"])).model_version, "m1");
  assert.equal(seen?.url, "/api/v1/classify");
  assert.equal((seen?.init?.headers as Record<string, string>).authorization, "Bearer tok");
  assert.deepEqual(JSON.parse(String(seen?.init?.body)), { texts: ["a"] });
});
