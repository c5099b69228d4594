// The SPEC §5 conformance runner, through the JavaScript API and the wasm
// module (the Rust runner is `cargo run --example conformance`):
//
//   node examples/worker/conformance.mjs < tests/vectors/forward.jsonl
//
// JSON objects in, one per line; one JSON object out per line, in the same
// order, each echoing "id"; `{"id":…,"error":"bad_request"}` for what it
// cannot take; it never stops early. Ops: parse_host, strip,
// verify_session, forward, filter_response. `schema` and the SPEC §10
// provider ops are the Rust runner's only: the app proxy's module carries
// neither the DDL nor the provider path.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Vendo, VendoError } from "./vendo.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const wasm = new WebAssembly.Module(
  readFileSync(process.env.VENDO_WASM ?? join(here, "target/wasm32-unknown-unknown/release/vendo_worker.wasm")),
);

class BadRequest extends Error {}

/** A placeholder ring for ops that verify no session (a ring is required). */
const NO_SESSIONS = [{ kid: "unused", key: "00".repeat(32) }];

const str = (req, name, fallback) => {
  const v = req[name];
  if (v === undefined || v === null) {
    if (fallback === undefined) throw new BadRequest();
    return fallback;
  }
  if (typeof v !== "string") throw new BadRequest();
  return v;
};
const uint = (req, name, fallback) => {
  const v = req[name];
  if (v === undefined || v === null) return fallback;
  if (!Number.isInteger(v) || v < 0) throw new BadRequest();
  return v;
};
const headerList = (req) => {
  const list = req.headers;
  if (!Array.isArray(list)) throw new BadRequest();
  for (const p of list) if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== "string" || typeof p[1] !== "string") throw new BadRequest();
  return list;
};
const keys = (req) => {
  const k = req.keys;
  if (k === null || typeof k !== "object" || Array.isArray(k)) throw new BadRequest();
  const out = Object.entries(k).map(([kid, key]) => {
    if (typeof key !== "string") throw new BadRequest();
    return { kid, key };
  });
  if (out.length === 0 || out.length > 8) throw new BadRequest();
  return out;
};
const reserved = (req) => {
  if (req.reserved === undefined || req.reserved === null) return undefined;
  if (!Array.isArray(req.reserved) || req.reserved.some((r) => typeof r !== "string")) throw new BadRequest();
  return req.reserved;
};

// One configured gate per distinct configuration: vectors share a few.
const gates = new Map();
function gate(config) {
  const id = JSON.stringify(config);
  let g = gates.get(id);
  if (g === undefined) {
    g = new Vendo(wasm, config);
    gates.set(id, g);
  }
  return g;
}

const ops = {
  parse_host(req) {
    const host = str(req, "host");
    const key = gate({ apex: str(req, "apex", ""), reserved: reserved(req), session_keys: NO_SESSIONS }).routeKey(host);
    if (!key.ok) return { error: key.code };
    return key.form === "legacy"
      ? { ok: { form: "legacy", deployment: key.deployment, tenant: key.tenant } }
      : { ok: { form: "single_level", label: key.label } };
  },

  strip(req) {
    const g = gate({ session_cookie: str(req, "session_cookie", ""), session_keys: NO_SESSIONS });
    const out = g.strip(headerList(req));
    return out === null ? { error: "bad_request" } : { ok: { headers: out.headers } };
  },

  verify_session(req) {
    const g = gate({
      session_keys: keys(req),
      leeway_secs: uint(req, "leeway_s", 60),
      max_lifetime_secs: uint(req, "max_lifetime_s", 604800),
    });
    const r = g.verifySession(str(req, "token"), str(req, "tenant_id"), str(req, "deployment_id"), uint(req, "now"));
    if (!r.ok) return { error: r.code };
    return { ok: r.session };
  },

  forward(req) {
    if (!("route" in req)) throw new BadRequest();
    const g = gate({
      apex: str(req, "apex", ""),
      reserved: reserved(req),
      session_cookie: str(req, "session_cookie", ""),
      session_keys: keys(req),
      leeway_secs: uint(req, "leeway_s", 60),
      max_lifetime_secs: uint(req, "max_lifetime_s", 604800),
    });
    const request = { method: str(req, "method", "GET"), host: str(req, "host"), target: "/", headers: headerList(req) };
    const r = g.admit(request, req.route, uint(req, "now"));
    return r.ok ? { ok: { headers: r.headers } } : { error: r.code };
  },

  filter_response(req) {
    const g = gate({ session_cookie: str(req, "session_cookie", ""), session_keys: NO_SESSIONS });
    return { ok: { headers: g.filterResponse(headerList(req)).headers } };
  },
};

export function answer(line) {
  let req = null;
  try {
    req = JSON.parse(line);
  } catch {
    // bad_request below
  }
  const id = req !== null && typeof req === "object" && "id" in req ? req.id : null;
  const op = req !== null && typeof req === "object" ? ops[req.op] : undefined;
  let result = { error: "bad_request" };
  if (typeof op === "function" && Object.hasOwn(ops, req.op)) {
    try {
      result = op(req);
    } catch (e) {
      if (!(e instanceof BadRequest || e instanceof VendoError)) throw e;
    }
  }
  return { id, ...result };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === "") continue;
    process.stdout.write(`${JSON.stringify(answer(line))}\n`);
  }
}
