import assert from "node:assert/strict";
import { test } from "node:test";
import { blobMetadata, blockId, startUpload } from "../src/upload.js";

test("block ids are base64 and all the same length, as Put Block List requires", () => {
  const ids = [0, 7, 999_999].map(blockId);
  assert.equal(new Set(ids.map((id) => id.length)).size, 1);
  assert.equal(atob(ids[1]), "block-000007");
});

test("metadata goes as ASCII headers, empty fields left out", () => {
  assert.deepEqual(blobMetadata({ title: "Café time ", educator: "Zoë", classroom: "", date: "2026-12-01" }),
    { title: "Cafe time", educator: "Zoe", date: "2026-12-01" });
});

test("a file is split into whole blocks, and a small one goes up in one request", () => {
  const config = { issuer: "i", client_id: "c", scope: "s", upload: { block_bytes: 10, single_shot_bytes: 10 } };
  const details = { title: "", educator: "", classroom: "", date: "" };
  assert.equal(startUpload("u", new File([new Uint8Array(25)], "a.mp4"), details, config).blockIds.length, 3);
  assert.equal(startUpload("u", new File([new Uint8Array(10)], "a.mp4"), details, config).blockIds.length, 0);
});
