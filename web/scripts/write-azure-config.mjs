// Before `azd` builds the web service: write what the built app reads in Azure, from the
// azd environment (azd passes its values, and infra/main.bicep's outputs, as variables).
//   public/config.json               the sign-in settings and where the API is
//   public/staticwebapp.config.json  Static Web Apps' routing and the page's security headers
// Locally, `python -m devhost serve` answers /config.json itself; neither file is committed.
import { writeFileSync } from "node:fs";

const env = process.env;
const need = (name, why) => {
  if (!env[name]) {
    console.error(`write-azure-config: set ${name} (${why}): azd env set ${name} …`);
    process.exit(1);
  }
  return env[name].replace(/\/+$/, "");
};
const origin = (url) => (url ? new URL(url).origin : null);

const issuer = need("AUTH_ISSUER", "the Entra ID issuer the API trusts, e.g. https://login.microsoftonline.com/{tenant-id}/v2.0");
const clientId = need("WEB_CLIENT_ID", "the web app's Entra ID app registration (a single-page application)");
const linked = env.LINK_STATIC_WEB_APP_BACKEND === "true";
// Free SKU: the page calls the function app directly (CORS allows this origin); Standard
// with the linked backend: /api on the page's own origin.
const apiBase = linked ? "/api" : `${need("FUNCTION_APP_URL", "the function app's address (an output of infra/main.bicep)")}/api`;
const config = {
  issuer,
  client_id: clientId,
  scope: env.WEB_SCOPE || `openid profile ${env.AUTH_AUDIENCE || "api://classroom-video"}/access`,
  api_base: apiBase,
  upload: {},
};
const connect = ["'self'", origin(issuer), linked ? null : origin(apiBase), origin(env.BLOB_ACCOUNT_URL)].filter(Boolean);
// Media: the recording just uploaded (blob: URLs) and stored ones, read through a read SAS from Storage.
const media = ["'self'", "blob:", origin(env.BLOB_ACCOUNT_URL)].filter(Boolean);
const csp = ["default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", `media-src ${media.join(" ")}`,
  `connect-src ${[...new Set(connect)].join(" ")}`, `form-action 'self' ${origin(issuer)}`, "base-uri 'none'",
  "object-src 'none'", "frame-ancestors 'none'"].join("; ");
const site = {
  navigationFallback: { rewrite: "/index.html", exclude: ["/assets/*", "/config.json", "/api/*"] },
  globalHeaders: {
    "content-security-policy": csp, "x-content-type-options": "nosniff", "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
  },
  routes: [
    { route: "/assets/*", headers: { "cache-control": "public, max-age=31536000, immutable" } },
    { route: "/config.json", headers: { "cache-control": "no-cache" } },
  ],
};
const out = new URL("../public/", import.meta.url);
writeFileSync(new URL("config.json", out), JSON.stringify(config, null, 2) + "\n");
writeFileSync(new URL("staticwebapp.config.json", out), JSON.stringify(site, null, 2) + "\n");
console.log(`write-azure-config: issuer ${issuer}, API ${apiBase}`);
