import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("../../scripts/write-azure-config.mjs", import.meta.url));
const publicDir = new URL("../../public/", import.meta.url);
const run = (env: Record<string, string>) =>
  spawnSync(process.execPath, [script], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" });

test("the Azure config names the issuer, the client and the function app; the CSP allows just those", () => {
  try {
    const done = run({ AUTH_ISSUER: "https://login.microsoftonline.com/t1/v2.0/", WEB_CLIENT_ID: "c1",
      FUNCTION_APP_URL: "https://func-a.azurewebsites.net", BLOB_ACCOUNT_URL: "https://sta.blob.core.windows.net/" });
    assert.equal(done.status, 0, done.stderr);
    const config = JSON.parse(readFileSync(new URL("config.json", publicDir), "utf8"));
    assert.equal(config.issuer, "https://login.microsoftonline.com/t1/v2.0");
    assert.equal(config.api_base, "https://func-a.azurewebsites.net/api");
    const site = JSON.parse(readFileSync(new URL("staticwebapp.config.json", publicDir), "utf8"));
    const csp: string = site.globalHeaders["content-security-policy"];
    // the review page plays stored recordings from Storage (a read SAS)
    assert.match(csp, /media-src 'self' blob: https:\/\/sta\.blob\.core\.windows\.net;/);
    assert.match(csp, /connect-src 'self' https:\/\/login\.microsoftonline\.com https:\/\/func-a\.azurewebsites\.net https:\/\/sta\.blob\.core\.windows\.net;/);
    assert.equal(site.navigationFallback.rewrite, "/index.html");
  } finally {
    rmSync(new URL("config.json", publicDir), { force: true });
    rmSync(new URL("staticwebapp.config.json", publicDir), { force: true });
  }
});

test("with the linked backend the API is on the page's origin", () => {
  try {
    const done = run({ AUTH_ISSUER: "https://login.microsoftonline.com/t1/v2.0", WEB_CLIENT_ID: "c1", LINK_STATIC_WEB_APP_BACKEND: "true" });
    assert.equal(done.status, 0, done.stderr);
    assert.equal(JSON.parse(readFileSync(new URL("config.json", publicDir), "utf8")).api_base, "/api");
  } finally {
    rmSync(new URL("config.json", publicDir), { force: true });
    rmSync(new URL("staticwebapp.config.json", publicDir), { force: true });
  }
});

test("a missing setting stops the build with what to set", () => {
  const done = run({ WEB_CLIENT_ID: "c1" });
  assert.equal(done.status, 1);
  assert.match(done.stderr, /azd env set AUTH_ISSUER/);
});
