// Sign-in: the OpenID Connect authorization-code flow with PKCE (S256), as a public
// client (no secret in a browser). The issuer and client id come from /config.json,
// which the server writes from the API's own settings (the issuer the API trusts);
// endpoints come from the issuer's discovery document. Tokens live in sessionStorage
// (gone when the tab closes); the API checks every token, the page trusts none.

export interface WebConfig {
  issuer: string;
  client_id: string;
  scope: string;
  api_base?: string;  // "/api" (same origin) unless the API is elsewhere (Azure, Free SKU)
  upload?: { block_bytes?: number; single_shot_bytes?: number; concurrency?: number };
}
interface Discovery { authorization_endpoint: string; token_endpoint: string; issuer: string }
export interface Session { accessToken: string; expiresAt: number; tenant: string; user: string; roles: string[] }

const SESSION = "classroom.session";
const PENDING = "classroom.pending-sign-in";

export async function loadConfig(): Promise<WebConfig> {
  const response = await fetch("/config.json", { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`the app's settings (/config.json) answered ${response.status}`);
  return (await response.json()) as WebConfig;
}

async function discover(config: WebConfig): Promise<Discovery> {
  const response = await fetch(`${config.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`the sign-in service's discovery answered ${response.status}`);
  const found = (await response.json()) as Discovery;
  if (found.issuer !== config.issuer) throw new Error("the sign-in service names another issuer than the API trusts");
  return found;
}

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(byteCount = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(byteCount)));
}

async function challengeFor(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}

function redirectUri(): string {
  return `${location.origin}/`;
}

/** Go to the sign-in service; it comes back to / with ?code&state. */
export async function beginSignIn(config: WebConfig, returnTo: string): Promise<void> {
  const endpoints = await discover(config);
  const verifier = randomString(48);
  const state = randomString(16);
  const nonce = randomString(16);
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, nonce, returnTo }));
  const query = new URLSearchParams({
    response_type: "code", client_id: config.client_id, redirect_uri: redirectUri(), scope: config.scope,
    state, nonce, code_challenge: await challengeFor(verifier), code_challenge_method: "S256",
  });
  location.assign(`${endpoints.authorization_endpoint}?${query}`);
}

/** On the way back from the sign-in service: trade the code for tokens. Returns the hash to show next. */
export async function completeSignIn(config: WebConfig, params: URLSearchParams): Promise<string> {
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? "null");
  sessionStorage.removeItem(PENDING);
  if (params.get("error")) throw new Error(`sign-in failed: ${params.get("error_description") ?? params.get("error")}`);
  if (!pending || pending.state !== params.get("state")) throw new Error("sign-in failed: this answer was not asked for here (state differs); please sign in again");
  const endpoints = await discover(config);
  const response = await fetch(endpoints.token_endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", code: params.get("code") ?? "", redirect_uri: redirectUri(),
      client_id: config.client_id, code_verifier: pending.verifier,
    }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(`sign-in failed: ${body.error_description ?? response.status}`);
  const claims = claimsOf(body.access_token);
  const session: Session = {
    accessToken: body.access_token, expiresAt: Date.now() + (body.expires_in ?? 3600) * 1000,
    tenant: String(claims.tid ?? ""), user: String(claims.name ?? claims.oid ?? claims.sub ?? ""),
    roles: Array.isArray(claims.roles) ? claims.roles.map(String) : [],
  };
  sessionStorage.setItem(SESSION, JSON.stringify(session));
  return pending.returnTo || "#/videos";
}

/** For display only (who is signed in): the API verifies the signature, the page never relies on these. */
function claimsOf(token: string): Record<string, unknown> {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(payload), (c) => c.charCodeAt(0))));
  } catch {
    return {};
  }
}

export function currentSession(): Session | null {
  const session = JSON.parse(sessionStorage.getItem(SESSION) ?? "null") as Session | null;
  if (!session || session.expiresAt < Date.now() + 30_000) return null;
  return session;
}

export function signOut(): void {
  sessionStorage.removeItem(SESSION);
}
