#!/usr/bin/env node
/*
 * A Cosmos DB (NoSQL API) stand-in for tests and `python -m devhost stack up`:
 * @vercel/cosmosdb-server@1.0.1 (pinned in package.json; in-memory) served over plain
 * HTTP on 127.0.0.1, with the bugs that matter to the azure-cosmos SDK fixed here rather
 * than in node_modules. Usage: node cosmos_launcher.js [--port N]   (default 8081; 0 = any)
 * Prints one line, "ready http://127.0.0.1:PORT/", once it accepts connections; exits 0
 * on SIGTERM/SIGINT. COSMOS_LAUNCHER_LOG=1 logs each request (method, path, key) to stderr. Nothing new is pinned: only the package and its own dependencies.
 *
 * How it wraps the package: the package's routes table (lib/routes.js) captures each
 * handler module's `default` export when it is first required, so this file replaces
 * those exports first, then requires the package and calls its exported
 * createHttpServer(). Helpers the handlers call through their module objects
 * (json body reader, parsePartitionKey) are replaced the same way.
 *
 * Fixes, and why:
 *  1. Keep-alive. As shipped it answers every request with "Connection: close", so the
 *     SDK opens a new TCP connection (and, over HTTPS, a TLS handshake) per operation.
 *     createHttpServer({keepAlive: true}) keeps connections open; keepAliveTimeout is
 *     raised so an SDK's pooled connection is not dropped between a test's operations.
 *  2. 404, not 500, for a missing item. Reading a missing document dereferences
 *     undefined (500 "Cannot read properties of undefined"); the SDK must see 404 to raise
 *     CosmosResourceNotFoundError. Read, replace, delete and patch of a document answer
 *     404 NotFound when the container, the document, or the document in *that* partition
 *     (every component of the partition-key header) does not exist.
 *  3. Partition-scoped queries. A query sent with x-ms-documentdb-partitionkey ran over the
 *     whole container (and was refused with 400 "missing partition keys" unless its WHERE
 *     clause named the key). It now runs over the documents of that partition only; a
 *     shorter key (a hierarchical prefix) scopes by the components given.
 *  4. Hierarchical partition keys (kind MultiHash). The package identifies a document by
 *     (first key component, id), so two documents with one id under one tenant but
 *     different second-level keys overwrote each other. Identity now uses every component.
 *  5. execute_item_batch. The SDK sends the partition key once, in the header; the package
 *     read it per operation and failed with 500. The header's key is passed to every
 *     operation, and an atomic batch (x-ms-cosmos-batch-atomic) is all-or-nothing: on the
 *     first failing operation the container is restored and the others answer 424 (HTTP
 *     207), as Cosmos DB does. Patch inside a batch stays unsupported (400).
 *  6. http:// advertisement. The account document (GET /) always advertised
 *     https://host:port/ as the read/write location; with endpoint discovery on (the SDK's
 *     default) the SDK then talked TLS to a plain-HTTP port. Locations (and the
 *     content-location header) now carry the scheme actually served.
 *
 * Still unsupported (package limits): OFFSET/LIMIT, DISTINCT, GROUP BY, LIKE, TTL expiry,
 * change feed, EPK-range (prefix) queries the SDK sends for hierarchical prefixes (they
 * are scoped only by their WHERE clause), stored procedures, triggers; auth is not checked.
 */
"use strict";

const path = require("path");

const PACKAGE = "@vercel/cosmosdb-server";
const LIB = path.dirname(require.resolve(PACKAGE)); // .../lib (index.js)
const ROUTES = require.resolve(path.join(LIB, "routes"));
const SCHEME = "http";

if (require.cache[ROUTES]) {
  throw new Error("cosmos_launcher: the package's routes were loaded before the handlers were patched");
}

const lib = name => require(path.join(LIB, name));
const json = lib("json");
const partitionHeader = lib("utils/get-partition-from-header");
const getValue = lib("utils/get-value").default;
const Items = lib("account/items").default;
const readItems = lib("handler/_read-items").default;
const trueHeader = lib("true-header").default;

const PK_HEADER = "x-ms-documentdb-partitionkey";
const NOT_FOUND = { code: "NotFound", message: "Entity with the specified id does not exist in the system." };

// --- helpers -----------------------------------------------------------------------------

/** The partition key values of a request, as an array, or null when none was sent. */
function headerKey(req) {
  const raw = partitionHeader.default(req);
  if (!raw) return null;
  let value;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    return null;
  }
  if (!Array.isArray(value)) value = [value];
  return value.length ? value : null;
}

const isUndefinedMarker = v => v !== null && typeof v === "object" && Object.keys(v).length === 0;

function keyPaths(collectionData) {
  return ((collectionData && collectionData.partitionKey) || {}).paths || [];
}

/** Whether a document lies in the partition named by `key` (all of it, or a prefix). */
function inPartition(collectionData, key, doc) {
  const paths = keyPaths(collectionData);
  if (!paths.length) return true;
  return key.every((wanted, i) => {
    if (i >= paths.length) return false;
    const actual = getValue(paths[i].slice(1).split("/"), doc);
    return isUndefinedMarker(wanted) ? actual === undefined : actual === wanted;
  });
}

/** A request body parsed once by a wrapper and handed to the package's handler. */
const originalJson = json.default;
json.default = async req => (req.launcherBody !== undefined ? req.launcherBody : originalJson(req));

function wrap(handlerName, makeWrapper) {
  const mod = lib(`handler/${handlerName}`);
  mod.default = makeWrapper(mod.default);
}

// --- fix 4: identity over every component of a hierarchical key -------------------------

const originalGetPartition = Items.prototype._getPartition;
Items.prototype._getPartition = function getPartition(data) {
  if (this._partitionKeyPath.length > 1) {
    return JSON.stringify(this._partitionKeyPath.map(p => {
      const v = getValue(p.slice(1).split("/"), data);
      return v === undefined ? null : v;
    }));
  }
  return originalGetPartition.call(this, data);
};
const originalParsePartitionKey = partitionHeader.parsePartitionKey;
partitionHeader.parsePartitionKey = (partitionKey, defaultValue) => {
  let parsed;
  try {
    parsed = JSON.parse(partitionKey);
  } catch (err) {
    parsed = undefined;
  }
  if (Array.isArray(parsed) && parsed.length > 1) {
    return JSON.stringify(parsed.map(v => (v === undefined || isUndefinedMarker(v) ? null : v)));
  }
  return originalParsePartitionKey(partitionKey, defaultValue);
};

// --- fix 2: 404 for a missing document ---------------------------------------------------

function missingDocument(account, req, { dbId, collId, docId }) {
  const collection = account.database(dbId).collection(collId);
  const collectionData = collection.read();
  if (!collectionData) return true;
  const key = headerKey(req);
  if (!key) return false; // no partition key: leave it to the package
  const doc = collection.document(docId, partitionHeader.parsePartitionKey(JSON.stringify(key), docId)).read();
  return !doc || !inPartition(collectionData, key, doc);
}

for (const name of ["read-document", "replace-document", "delete-document", "patch-document"]) {
  wrap(name, original => async (account, req, res, params) => {
    if (missingDocument(account, req, params)) {
      res.statusCode = 404;
      return { ...NOT_FOUND };
    }
    return original(account, req, res, params);
  });
}

// --- fix 3: partition-scoped queries -----------------------------------------------------

wrap("query-documents", original => async (account, req, res, params) => {
  const key = headerKey(req);
  if (!key) return original(account, req, res, params);
  return readItems(req, res, "Documents", async ({ continuation, maxItemCount }) => {
    const body = await json.default(req);
    if (!body.query) {
      res.statusCode = 400;
      return { code: "BadRequest", message: "missing query" };
    }
    const collection = account.database(params.dbId).collection(params.collId);
    const collectionData = collection.read();
    if (!collectionData) return null; // 404
    const documents = collection.documents;
    const data = [...documents._data.values()].map(item => item.read()).filter(d => inPartition(collectionData, key, d));
    const compositeIndexes = (collectionData.indexingPolicy || {}).compositeIndexes || [];
    try {
      return documents._getQuery(body.query).exec(data, {
        parameters: body.parameters,
        udf: documents._userDefinedFunctions(),
        maxItemCount,
        continuation,
        compositeIndexes
      });
    } catch (err) {
      res.statusCode = 400;
      return { code: "BadRequest", message: err.message };
    }
  });
});

// --- fix 5: transactional batch ----------------------------------------------------------

wrap("batch-documents", original => async (account, req, res, params) => {
  const body = await json.default(req);
  const header = partitionHeader.default(req);
  if (Array.isArray(body) && header) {
    body.forEach(op => {
      if (op && op.partitionKey === undefined) op.partitionKey = header;
    });
  }
  req.launcherBody = body;
  const documents = account.database(params.dbId).collection(params.collId).documents;
  const atomic = trueHeader(req, "x-ms-cosmos-batch-atomic");
  const snapshot = atomic && {
    data: new Map(documents._data),
    index: new Map(documents._index),
    ridCount: documents._ridCount
  };
  const result = await original(account, req, res, params);
  const failed = Array.isArray(result) ? result.some(r => r.statusCode >= 400) : res.statusCode >= 400;
  if (snapshot && failed) {
    documents._data = snapshot.data;
    documents._index = snapshot.index;
    documents._ridCount = snapshot.ridCount;
    if (Array.isArray(result)) {
      res.statusCode = 207;
      return result.map(r => (r.statusCode >= 400 ? r : { statusCode: 424, requestCharge: 0 }));
    }
  }
  return result;
});

// --- fix 6: advertise the scheme actually served -----------------------------------------

const toServedScheme = url => (typeof url === "string" ? url.replace(/^https?:/, `${SCHEME}:`) : url);

wrap("read-meta", original => async (account, req, res, params) => {
  const meta = await original(account, req, res, params);
  const relocate = locations =>
    (locations || []).map(l => ({ ...l, databaseAccountEndpoint: toServedScheme(l.databaseAccountEndpoint) }));
  return { ...meta, writableLocations: relocate(meta.writableLocations), readableLocations: relocate(meta.readableLocations) };
});

// --- the server --------------------------------------------------------------------------

function parseArgs(argv) {
  const args = { port: 8081 };
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === "--port" || argv[i] === "-p") {
      args.port = Number.parseInt(argv[(i += 1)], 10);
    } else if (argv[i] === "--help" || argv[i] === "-h") {
      process.stdout.write("usage: node cosmos_launcher.js [--port N]\n");
      process.exit(0);
    } else {
      process.stderr.write(`cosmos_launcher: unknown argument ${argv[i]}\n`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) {
    process.stderr.write("cosmos_launcher: --port needs a number from 0 to 65535\n");
    process.exit(2);
  }
  return args;
}

function main() {
  const { port } = parseArgs(process.argv.slice(2));
  const { createHttpServer } = require(PACKAGE); // loads routes.js, with the handlers above
  const server = createHttpServer({ keepAlive: true }); // fix 1
  server.keepAliveTimeout = 120 * 1000;
  server.headersTimeout = 125 * 1000;
  const log = process.env.COSMOS_LAUNCHER_LOG === "1";
  server.prependListener("request", (req, res) => {
    if (log) {
      const pk = req.headers[PK_HEADER];
      process.stderr.write(`${req.method} ${req.url}${pk ? ` pk=${pk}` : ""}` +
        `${req.headers["x-ms-documentdb-query-enablecrosspartition"] ? " cross-partition" : ""}\n`);
    }
    const setHeader = res.setHeader;
    res.setHeader = function setServedHeader(name, value) {
      const fixed = String(name).toLowerCase() === "content-location" ? toServedScheme(value) : value;
      return setHeader.call(this, name, fixed);
    };
  });
  server.on("error", err => {
    process.stderr.write(`cosmos_launcher: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(port, "127.0.0.1", () => {
    process.stdout.write(`ready ${SCHEME}://127.0.0.1:${server.address().port}/\n`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main();
