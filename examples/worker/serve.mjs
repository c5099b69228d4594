// Runs the reference app proxy (worker.mjs) in Cloudflare's local Workers
// runtime (miniflare on workerd), on 127.0.0.1:
//
//   node examples/worker/serve.mjs CONFIG.json
//
// The first line on stdout is `listening on http://127.0.0.1:PORT`; it then
// serves until SIGTERM or SIGINT. CONFIG:
//
//   {"apex":"vendo.run","session_cookie":"__Host-vendo_session",
//    "session_keys":[{"kid":"k1","key":"<hex>"}],
//    "attestation":{"kid":"a1","secret":"<hex>"},
//    "routes":{"acme-crm":{"tenant_id":"t_1","deployment_id":"d_1","tenant_slug":"acme",
//              "deployment_slug":"crm","upstream":"http://127.0.0.1:9001"}}}
//
// `attestation` may be omitted; so may the other fields of vendo.d.ts's
// VendoConfig (`reserved`, `leeway_secs`, `max_lifetime_secs`,
// `reissue_within_secs`). `port` picks the port (default: any free one);
// `now` (unix seconds) fixes the Worker's clock, for test vectors.
// The routes are written into the Worker's KV namespace `ROUTES` before it
// serves. While it serves, JSON lines on stdin change them, one answer
// line each on stdout:
//
//   {"op":"put","key":"acme-wiki","entry":{…}}          → {"ok":true}
//   {"op":"delete","key":"acme-crm"}                     → {"ok":true}
//   {"op":"put_host","host":"Acme-CRM.vendo.run","entry":{…} or null}
//        → {"ok":true,"key":"acme-crm"} or {"ok":false,"code":"invalid_host"}
//
// The Worker's own log lines go to stderr.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { Vendo } from "./vendo.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const wasmPath = process.env.VENDO_WASM ?? join(here, "target/wasm32-unknown-unknown/release/vendo_worker.wasm");

function fail(message) {
  process.stderr.write(`serve.mjs: ${message}\n`);
  process.exit(2);
}

if (process.argv.length !== 3) fail("usage: node serve.mjs CONFIG.json");
let config;
try {
  config = JSON.parse(readFileSync(process.argv[2], "utf8"));
} catch (e) {
  fail(`cannot read ${process.argv[2]}: ${e.message}`);
}
if (!existsSync(wasmPath)) {
  fail(`no ${wasmPath}: build it with \`cargo build --release --target wasm32-unknown-unknown\` in examples/worker`);
}
const wasmBytes = readFileSync(wasmPath);

const vendoConfig = {};
for (const name of ["apex", "session_cookie", "session_keys", "attestation", "reserved", "leeway_secs", "max_lifetime_secs", "reissue_within_secs"]) {
  if (config[name] !== undefined) vendoConfig[name] = config[name];
}
// Refuse a bad configuration here, with the crate's reason, rather than on
// the first request.
let local;
try {
  local = new Vendo(new WebAssembly.Module(wasmBytes), vendoConfig);
} catch (e) {
  fail(e.message);
}

function checkedEntry(entry) {
  const upstream = new URL(entry.upstream);
  if (upstream.protocol !== "http:" && upstream.protocol !== "https:") throw new Error("upstream must be http(s)");
  return JSON.stringify(entry);
}

const bindings = { VENDO_CONFIG: JSON.stringify(vendoConfig) };
if (config.now !== undefined) bindings.VENDO_TEST_FIXED_NOW = String(config.now);

const mf = new Miniflare({
  modules: [
    { type: "ESModule", path: join(here, "worker.mjs") },
    { type: "ESModule", path: join(here, "vendo.mjs") },
    { type: "CompiledWasm", path: join(here, "vendo_worker.wasm"), contents: wasmBytes },
  ],
  modulesRoot: here,
  compatibilityDate: "2026-04-01",
  kvNamespaces: ["ROUTES"],
  bindings,
  host: "127.0.0.1",
  port: config.port ?? 0,
  handleRuntimeStdio(stdout, stderr) {
    stdout.pipe(process.stderr);
    stderr.pipe(process.stderr);
  },
});

let url;
try {
  url = await mf.ready;
} catch (e) {
  fail(`the Workers runtime did not start: ${e.message}`);
}
const routes = await mf.getKVNamespace("ROUTES");
try {
  for (const [key, entry] of Object.entries(config.routes ?? {})) await routes.put(key, checkedEntry(entry));
} catch (e) {
  await mf.dispose();
  fail(`bad route: ${e.message}`);
}
process.stdout.write(`listening on http://127.0.0.1:${url.port}\n`);

async function command(line) {
  const c = JSON.parse(line);
  switch (c.op) {
    case "put":
      await routes.put(String(c.key), checkedEntry(c.entry));
      return { ok: true };
    case "delete":
      await routes.delete(String(c.key));
      return { ok: true };
    case "put_host": {
      const key = local.routeKey(String(c.host));
      if (!key.ok) return { ok: false, code: key.code };
      if (c.entry === null) await routes.delete(key.key);
      else await routes.put(key.key, checkedEntry(c.entry));
      return { ok: true, key: key.key };
    }
    default:
      return { ok: false, code: "unknown_op" };
  }
}

// One command at a time, answered in order.
let queue = Promise.resolve();
createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim() === "") return;
  queue = queue.then(async () => {
    let answer;
    try {
      answer = await command(line);
    } catch (e) {
      answer = { ok: false, code: "bad_request", message: e.message };
    }
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  });
});

async function stop() {
  await mf.dispose();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
