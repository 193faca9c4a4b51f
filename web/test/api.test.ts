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

test("upload details go with the filename, trimmed, and empty ones are left out", async () => {
  let body: unknown;
  const client = new ApiClient(() => "tok", async (_url, init) => {
    body = JSON.parse(String(init?.body));
    return new Response('{"video_id": "v", "upload_url": "u", "expires_at": "e"}', { status: 201 });
  });
  await client.createUpload("a.mp4", { title: " Sink or float ", educator: "", classroom: "Room 3", recorded_on: "2026-11-30" });
  assert.deepEqual(body, { filename: "a.mp4", title: "Sink or float", classroom: "Room 3", recorded_on: "2026-11-30" });
});

test("a trend's name travels encoded in the query", async () => {
  let seen = "";
  const client = new ApiClient(() => "tok", async (url) => {
    seen = url;
    return new Response('{"by": "educator", "key": "Ms R&D", "points": []}', { status: 200 });
  });
  await client.trend("educator", "Ms R&D");
  assert.equal(seen, "/api/v1/trends?by=educator&key=Ms+R%26D");
});
