// The SPEC §5 conformance runner, through the JavaScript API and the wasm
// modules (the Rust runner is `cargo run --example conformance`):
//
//   node examples/worker/conformance.mjs < tests/vectors/forward.jsonl
//
// JSON objects in, one per line; one JSON object out per line, in the same
// order, each echoing "id"; `{"id":…,"error":"bad_request"}` for what it
// cannot take; it never stops early. Ops: parse_host, strip,
// verify_session, forward, filter_response through `Vendo`
// (vendo_worker.wasm), and SPEC §10's api_key, mint_api_key, seal, unseal,
// provider_forward through `ProviderGate` (vendo_provider.wasm, loaded on
// the first of them). `schema` is the Rust runner's only: neither module
// carries the DDL.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ProviderGate, Vendo, VendoError } from "./vendo.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const wasm = new WebAssembly.Module(
  readFileSync(process.env.VENDO_WASM ?? join(here, "target/wasm32-unknown-unknown/release/vendo_worker.wasm")),
);

let providerWasm = null;
function providerModule() {
  const path = process.env.VENDO_PROVIDER_WASM ?? join(here, "provider/target/wasm32-unknown-unknown/release/vendo_provider.wasm");
  providerWasm ??= new WebAssembly.Module(readFileSync(path));
  return providerWasm;
}

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

// The SPEC §10 ops' request fields, read as the Rust runner reads them.
const present = (req, name) => {
  if (!(name in req)) throw new BadRequest();
  return req[name];
};
const bytes = (req, name) => {
  const hex = str(req, name);
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new BadRequest();
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
};
const masters = (req) => {
  const m = req.masters;
  if (m === null || typeof m !== "object" || Array.isArray(m)) throw new BadRequest();
  return Object.entries(m).map(([kid, key]) => {
    if (typeof key !== "string") throw new BadRequest();
    return { kid, key };
  });
};
const object = (req, name) => {
  const v = req[name];
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new BadRequest();
  return v;
};
const connection = (req) => ({ id: str(req, "connection_id"), tenant_id: str(req, "tenant_id"), provider: str(req, "provider") });

/** Placeholders for the provider ops that use no pepper or no master key (the gate takes both). */
const NO_PEPPER = "00".repeat(32);
const NO_MASTERS = [{ kid: "unused", key: "00".repeat(32) }];

// One configured gate per distinct configuration: vectors share a few.
const gates = new Map();
function configured(make, config) {
  const id = JSON.stringify([make.name, config]);
  let g = gates.get(id);
  if (g === undefined) {
    g = make(config);
    gates.set(id, g);
  }
  return g;
}
const gate = (config) => configured(function vendo(c) { return new Vendo(wasm, c); }, config);
const providerGate = (config) => configured(function provider(c) { return new ProviderGate(providerModule(), c); }, config);

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

  api_key(req) {
    const headers = headerList(req);
    const g = providerGate({ pepper: str(req, "pepper"), masters: NO_MASTERS });
    const r = g.checkKey(headers, present(req, "record"), uint(req, "now"));
    return r.ok ? { ok: { key_id: r.key_id, tenant_id: r.tenant_id, deployment_id: r.deployment_id } } : { error: r.code };
  },

  mint_api_key(req) {
    const random = bytes(req, "random");
    const { api_key, key_id, verifier } = providerGate({ pepper: str(req, "pepper"), masters: NO_MASTERS }).mint(random);
    return { ok: { api_key, key_id, verifier } };
  },

  seal(req) {
    const g = providerGate({ pepper: NO_PEPPER, masters: [{ kid: str(req, "kid"), key: str(req, "master") }] });
    return { ok: { sealed: g.seal(str(req, "credential"), connection(req), bytes(req, "nonce")) } };
  },

  unseal(req) {
    const r = providerGate({ pepper: NO_PEPPER, masters: masters(req) }).unseal(str(req, "sealed"), connection(req));
    return r.ok ? { ok: { credential: r.credential } } : { error: r.code };
  },

  provider_forward(req) {
    if (!Array.isArray(req.rates)) throw new BadRequest();
    const g = providerGate({ pepper: str(req, "pepper"), masters: masters(req), rates: req.rates });
    const c = object(req, "call");
    const found = {
      adapter: str(req, "adapter"),
      record: present(req, "record"),
      binding: present(req, "binding"),
      connection: present(req, "connection"),
      call: { model: str(c, "model"), body_bytes: uint(c, "body_bytes"), max_tokens: c.max_tokens },
    };
    const r = g.forward({ target: str(req, "target"), headers: headerList(req) }, found, uint(req, "now"));
    if (!r.ok) return { error: r.code };
    const { tenant_id, deployment_id, reserve, target, headers } = r;
    return { ok: { tenant_id, deployment_id, reserve, target, headers } };
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
