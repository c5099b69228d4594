// The JavaScript API (vendo.mjs) over the wasm modules, in Node: an admit
// the tool side verifies, the changes a Worker applies, a provider call
// from its API key to the provider's request, and garbage driven through
// every entry point, which must come back as a VendoError or a denial and
// leave the instance working.

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import test from "node:test";
import { fileURLToPath } from "node:url";
import { AttestationVerifier, MAX_INPUT_BYTES, ProviderGate, Vendo, VendoError } from "../vendo.mjs";
import { providerWasmPath } from "./provider_wasm.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const wasm = new WebAssembly.Module(
  readFileSync(process.env.VENDO_WASM ?? join(here, "../target/wasm32-unknown-unknown/release/vendo_worker.wasm")),
);

const providerWasm = new WebAssembly.Module(readFileSync(providerWasmPath()));

const NOW = 1_700_000_000;
const SESSION_KEY = "42".repeat(32);
const SECRET = "07".repeat(32);
const CONFIG = { session_keys: [{ kid: "k1", key: SESSION_KEY }], attestation: { kid: "a1", secret: SECRET } };
const ENTRY = { tenant_id: "t_1", deployment_id: "d_1", tenant_slug: "acme", deployment_slug: "crm" };

/** A v1 session token (SPEC §4), minted here with node:crypto. */
function token(claims, key = SESSION_KEY, kid = "k1") {
  const payload = Buffer.from(claims.join("\n")).toString("base64url");
  const signed = `v1.${kid}.${payload}`;
  const mac = createHmac("sha256", Buffer.from(key, "hex")).update(`vendo-session-v1\0${signed}`).digest("base64url");
  return `${signed}.${mac}`;
}
const VALID = token(["t_1", "d_1", "u_1", "a@b.io", String(NOW - 60), String(NOW + 3600)]);

/** The deployment key of SPEC §3.1, as the platform provisions it. */
function deploymentKey(deployment) {
  return createHmac("sha256", Buffer.from(SECRET, "hex")).update(`vendo-attestation-key-v1\0${deployment}`).digest("hex");
}

function browserRequest(extra = {}) {
  return new Request("https://acme-crm.vendo.run/inbox?page=2", {
    method: "POST",
    headers: {
      cookie: `__Host-vendo_session=${VALID}; theme=dark`,
      "sec-fetch-site": "same-origin",
      "content-type": "text/plain",
      ...extra,
    },
  });
}

test("an admitted request carries the session's identity, and the tool verifies it", () => {
  const vendo = new Vendo(wasm, CONFIG);
  const request = browserRequest({ x_vendo_user_id: "u_admin", connection: "keep-alive, X-Vendo-Tenant-Id" });
  const admitted = vendo.admit(request, ENTRY, NOW, { upstream: "http://127.0.0.1:9001" });
  assert.equal(admitted.ok, true);
  assert.deepEqual(admitted.session, { tenant_id: "t_1", deployment_id: "d_1", user_id: "u_1", email: "a@b.io" });
  assert.deepEqual(admitted.spoofed.sort(), ["X-Vendo-Tenant-Id", "x_vendo_user_id"]);
  const h = admitted.headers;
  assert.equal(h.get("x-vendo-user-id"), "u_1");
  assert.equal(h.get("x_vendo_user_id"), null);
  assert.equal(h.get("connection"), "keep-alive");
  assert.equal(h.get("cookie"), "theme=dark");
  assert.equal(h.get("host"), "127.0.0.1:9001");
  assert.equal(admitted.reissue, null);

  // What the tool receives: the upstream URL and these headers.
  const verifier = new AttestationVerifier(wasm, [{ kid: "a1", deployment_id: "d_1", key: deploymentKey("d_1") }]);
  const received = { method: "POST", url: "http://127.0.0.1:9001/inbox?page=2", headers: [...h] };
  const who = verifier.verify(received, NOW);
  assert.equal(who.ok, true, JSON.stringify(who));
  assert.deepEqual(who.identity, admitted.session);
  // A forged identity header, or the request replayed to another path, fails.
  const forged = { ...received, headers: [...h].map(([n, v]) => [n, n === "x-vendo-user-id" ? "u_admin" : v]) };
  assert.equal(verifier.verify(forged, NOW).code, "bad_signature");
  assert.equal(verifier.verify({ ...received, url: "http://127.0.0.1:9001/admin" }, NOW).code, "bad_signature");
  assert.equal(verifier.verify(received, NOW + 3600).code, "expired");
});

test("the changes, applied as documented, give the forwarded headers, for Headers and for pairs", () => {
  const vendo = new Vendo(wasm, CONFIG);
  const extra = { X_Vendo_User_Id: "u_admin", "x.vendo.tenant.id": "t_2", connection: "keep-alive, X-Vendo-Tenant-Id" };
  for (const upstream of [undefined, "http://127.0.0.1:9001"]) {
    const request = browserRequest(extra);
    const admitted = vendo.admit(request, ENTRY, NOW, { upstream });
    assert.equal(admitted.ok, true);
    const { delete: deletes, set } = admitted.changes;
    for (const name of [...deletes, ...set.map(([n]) => n)]) assert.equal(name, name.toLowerCase(), name);
    // delete, then replace each set name by its pairs: delete it and append each.
    const copy = new Headers(request.headers);
    for (const name of deletes) copy.delete(name);
    for (const [name] of set) copy.delete(name);
    for (const [name, value] of set) copy.append(name, value);
    assert.deepEqual([...copy], [...admitted.headers]);
    // Each name's pairs are adjacent.
    const names = set.map(([n]) => n).filter((n, i, all) => i === 0 || all[i - 1] !== n);
    assert.equal(new Set(names).size, names.length);

    // The same request as pairs, spelled as a client might: the same changes.
    const pairs = [...request.headers].map(([n, v]) => [n === "x_vendo_user_id" ? "X_Vendo_User_Id" : n, v]);
    const asPairs = vendo.admit({ method: "POST", host: "acme-crm.vendo.run", target: "/inbox?page=2", headers: pairs }, ENTRY, NOW, { upstream });
    assert.deepEqual(asPairs.changes.delete.sort(), [...deletes].sort());
    assert.deepEqual(new Map(asPairs.headers), new Map(admitted.headers));
  }
});

test("an admit from Headers, which copies only the headers and values the gate reads, decides as from every pair", () => {
  const vendo = new Vendo(wasm, CONFIG);
  const r = rng(0x5eed);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const forged = token(["t_1", "d_1", "u_admin", "a@b.io", String(NOW - 60), String(NOW + 3600)], "13".repeat(32));
  const other = token(["t_2", "d_2", "u_2", "b@c.io", String(NOW - 60), String(NOW + 3600)]);
  const pool = [
    ["cookie", () => pick([`__Host-vendo_session=${VALID}`, `__Host-vendo_session=${forged}`, `__Host-vendo_session=${other}`, "theme=dark"]) + pick(["", "; a=1", "; a=1 __Host-vendo_session=FAKE", "; __host-VENDO_session=x"])],
    ["sec-fetch-site", () => pick(["same-origin", "same-site", "cross-site", "none"])],
    ["sec-fetch-mode", () => pick(["navigate", "cors", "no-cors", "same-origin"])],
    ["sec-fetch-dest", () => pick(["document", "empty", "iframe", "image"])],
    ["origin", () => pick(["https://acme-crm.vendo.run", "https://evil-x.vendo.run", "null"])],
    ["connection", () => pick(["keep-alive", "close, X-Vendo-User-Id", "x_vendo_tenant_id, Upgrade", "te"])],
    ["x-vendo-user-id", () => "u_admin"],
    ["x_vendo_tenant_id", () => "t_2"],
    ["x.vendo.user.email", () => "root@vendo.run"],
    ["x-vendo-attestation", () => "v1.a1.1700000000.AAAA"],
    // Near misses, copied (they hold `vendo`) or not, that the gate keeps.
    ["x-vendor-id", () => "acme"],
    ["vendo-user-id", () => "u_admin"],
    ["x-vendo", () => "1"],
    ["x-vend0-user-id", () => "u_admin"],
    ["user-agent", () => "Mozilla/5.0 (X11; Linux x86_64)"],
    ["accept", () => "text/html,*/*;q=0.8"],
    ["sec-fetch-user", () => "?1"],
    ["x-request-id", () => String(Math.floor(r() * 1e9))],
    ["referer", () => "https://acme-crm.vendo.run/inbox"],
  ];
  const outcomes = new Set();
  for (let i = 0; i < 400; i++) {
    const headers = new Headers();
    for (let n = Math.floor(r() * 10); n > 0; n--) {
      const [name, value] = pick(pool);
      headers.append(r() < 0.3 ? name.toUpperCase() : name, value());
    }
    const method = pick(["GET", "POST", "DELETE"]);
    const request = new Request("https://acme-crm.vendo.run/inbox?page=2", { method, headers });
    const entry = r() < 0.1 ? null : ENTRY;
    const fromHeaders = vendo.admit(request, entry, NOW);
    const fromPairs = vendo.admit({ method, host: "acme-crm.vendo.run", target: "/inbox?page=2", headers: [...request.headers] }, entry, NOW);
    const view = (a) => ({
      ok: a.ok,
      status: a.status,
      code: a.code,
      session: a.session,
      spoofed: [...a.spoofed].sort(),
      changes: a.changes ?? null,
      headers: [...a.headers].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
    });
    assert.deepEqual(view(fromHeaders), view(fromPairs), JSON.stringify([...request.headers]));
    outcomes.add(fromHeaders.ok ? "ok" : fromHeaders.code);
  }
  // The requests reached the decisions, not only the parsers.
  for (const o of ["ok", "no_session", "bad_signature", "wrong_tenant", "cross_site_request", "duplicate_session"]) assert.ok(outcomes.has(o), `${o} in ${[...outcomes]}`);
});

test("denials say why, and their headers hold no namespace header nor the session", () => {
  const vendo = new Vendo(wasm, CONFIG);
  const cases = [
    [browserRequest({ "x-vendo-user-id": "u_admin" }), null, 404, "not_found"],
    [browserRequest({ "sec-fetch-site": "same-site", origin: "https://evil-x.vendo.run" }), ENTRY, 403, "cross_site_request"],
    [browserRequest({ cookie: "theme=dark" }), ENTRY, 401, "no_session"],
    [browserRequest(), { ...ENTRY, tenant_id: "t_2" }, 403, "wrong_tenant"],
    [browserRequest(), { ...ENTRY, deployment_slug: "wiki" }, 404, "route_mismatch"],
  ];
  for (const [request, entry, status, code] of cases) {
    const denial = vendo.admit(request, entry, NOW);
    assert.deepEqual([denial.ok, denial.status, denial.code], [false, status, code]);
    for (const [name, value] of denial.headers) {
      assert.ok(!name.startsWith("x-vendo-"), name);
      assert.ok(!value.includes("__Host-vendo_session"), value);
    }
  }
  assert.deepEqual(vendo.routeKey(new Request("https://admin.vendo.run/")), { ok: false, status: 404, code: "reserved" });
  assert.deepEqual(vendo.routeKey("crm.acme.vendo.run"), { ok: true, key: "crm.acme", form: "legacy", deployment: "crm", tenant: "acme" });
});

test("a session signed by a rotated-out key is admitted with a re-issue", () => {
  const old = "11".repeat(32);
  const vendo = new Vendo(wasm, { session_keys: [{ kid: "k2", key: SESSION_KEY }, { kid: "k1", key: old }] });
  const t = token(["t_1", "d_1", "u_1", "a@b.io", String(NOW - 60), String(NOW + 3600)], old, "k1");
  const admitted = vendo.admit(browserRequest({ cookie: `__Host-vendo_session=${t}` }), ENTRY, NOW);
  assert.equal(admitted.reissue, "non_primary_key");
  assert.match(admitted.setCookie, /^__Host-vendo_session=v1\.k2\..*; Secure; HttpOnly/);
  assert.equal(vendo.verifySession(admitted.setCookie.split(/[=;]/)[1], "t_1", "d_1", NOW).ok, true);
});

test("the response filter removes what would reach other tenants", () => {
  const vendo = new Vendo(wasm, CONFIG);
  const response = new Headers([
    ["content-type", "text/html"],
    ["set-cookie", "planted=1; Domain=vendo.run"],
    ["set-cookie", "__Host-vendo_session=fixed; Path=/; Secure"],
    ["set-cookie", "cart=3; Path=/"],
    ["x-vendo-user-id", "u_2"],
  ]);
  const filtered = vendo.filterResponse(response);
  assert.deepEqual(filtered.headers.getSetCookie(), ["cart=3; Path=/"]);
  assert.equal(filtered.headers.get("x-vendo-user-id"), null);
  assert.equal(filtered.headers.get("content-type"), "text/html");
  assert.equal(filtered.tampering, true);
  assert.equal(filtered.removed.length, 3);
});

/** `n` bytes counting up from `start`, as SPEC §6 and §8's worked examples use. */
const counting = (start, n) => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);
const hex = (bytes) => Buffer.from(bytes).toString("hex");

const PROVIDER_CONFIG = {
  pepper: hex(counting(100, 32)),
  masters: [{ kid: "m1", key: hex(counting(0, 32)) }],
  rates: [{ provider: "openai", model: "gpt-4o-mini", input: "150000", output: 600000n, max_output: 16384 }],
};
// SPEC §6 and §8's worked examples.
const API_KEY = "vk1_aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypsaijcemsckjrhfau7ce25v4";
const RECORD = {
  key_id: "aaaqeayeaudaocaj",
  tenant_id: "t_1",
  deployment_id: "d_1",
  verifier: "8c3996b174c21d007338d24434bd2ab5d9d5791c1567d4f65c7d48a2429bf706",
  expires_at: null,
  revoked_at: null,
};
const CONNECTION = { id: "c_1", tenant_id: "t_1", provider: "openai", sealed: "v1.m1.AAAAAAAAAAAAAAAAxnIdISdINLwSPesCSUi6aoqVymdRKvzWsqIj" };
const BINDING = { id: "b_1", tenant_id: "t_1", deployment_id: "d_1", connection_id: "c_1" };
const CALL = { model: "gpt-4o-mini", body_bytes: 1234, max_tokens: 500 };
const FOUND = { adapter: "openai", record: RECORD, binding: BINDING, connection: CONNECTION, call: CALL };

function toolCall(extra = {}) {
  return new Request("https://openai-proxy.vendo.run/v1/chat/completions?x=1", {
    method: "POST",
    headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json", ...extra },
  });
}

test("a provider call goes from the tool's API key to the provider's request", () => {
  const gate = new ProviderGate(providerWasm, PROVIDER_CONFIG);
  assert.deepEqual(gate.mint(counting(0, 42)), { api_key: API_KEY, key_id: RECORD.key_id, verifier: RECORD.verifier });
  assert.equal(gate.seal("sk-test-123", CONNECTION, new Uint8Array(12)), CONNECTION.sealed);
  assert.deepEqual(gate.unseal(CONNECTION.sealed, CONNECTION), { ok: true, credential: "sk-test-123" });
  assert.deepEqual(gate.unseal(CONNECTION.sealed, { ...CONNECTION, tenant_id: "t_2" }), { ok: false, status: 500, code: "credential_unreadable" });

  // The Worker's order: the key id, its record, the scope, then the binding
  // and connection found under the scope's tenant.
  const request = toolCall({ "x-vendo-user-id": "u_admin", cookie: "a=1", connection: "x-vendo-tenant-id, keep-alive" });
  assert.deepEqual(gate.keyId(request), { ok: true, key_id: RECORD.key_id });
  assert.deepEqual(gate.checkKey(request, RECORD, NOW), { ok: true, key_id: RECORD.key_id, tenant_id: "t_1", deployment_id: "d_1" });
  const forwarded = gate.forward(request, FOUND, NOW);
  assert.equal(forwarded.ok, true, JSON.stringify(forwarded));
  assert.deepEqual([forwarded.tenant_id, forwarded.deployment_id, forwarded.reserve], ["t_1", "d_1", "486"]);
  assert.equal(forwarded.target, "/v1/chat/completions?x=1");
  assert.deepEqual(
    [...forwarded.headers],
    [["authorization", "Bearer sk-test-123"], ["connection", "keep-alive"], ["content-type", "application/json"]],
  );
  // The same decision over a plain list, and through Anthropic's header.
  const listed = gate.forward({ target: "/v1/messages", headers: [["X-API-Key", API_KEY], ["Authorization", "Basic eA=="]] }, FOUND, NOW);
  assert.equal(listed.code, "duplicate_api_key");
  const anthropic = new ProviderGate(providerWasm, {
    ...PROVIDER_CONFIG,
    rates: [{ provider: "anthropic", model: "claude-3-5-haiku", input: 800000, output: 4000000 }],
  });
  const sealed = anthropic.seal("sk-ant-1", { ...CONNECTION, provider: "anthropic" }, counting(7, 12));
  const viaAnthropic = anthropic.forward(
    { target: "/v1/messages", headers: [["X-API-Key", API_KEY], ["anthropic-version", "2023-06-01"]] },
    { ...FOUND, adapter: "anthropic", connection: { ...CONNECTION, provider: "anthropic", sealed }, call: { model: "claude-3-5-haiku", body_bytes: 10, max_tokens: 1 } },
    NOW,
  );
  assert.deepEqual(viaAnthropic.headers, [["anthropic-version", "2023-06-01"], ["x-api-key", "sk-ant-1"]]);
  assert.equal(viaAnthropic.reserve, "12");

  // Denials carry the status to answer; nothing is forwarded.
  const cases = [
    [toolCall({ authorization: "" }), FOUND, 401, "malformed_api_key"],
    [toolCall(), { ...FOUND, record: null }, 401, "unknown_api_key"],
    [toolCall(), { ...FOUND, record: { ...RECORD, key_id: "bbbbbbbbbbbbbbbb" } }, 401, "unknown_api_key"],
    [toolCall(), { ...FOUND, record: { ...RECORD, revoked_at: NOW } }, 401, "revoked_api_key"],
    [toolCall(), { ...FOUND, binding: null }, 403, "no_binding"],
    [toolCall(), { ...FOUND, binding: { ...BINDING, deployment_id: "d_2" } }, 403, "binding_deployment_mismatch"],
    [toolCall(), { ...FOUND, adapter: "notion" }, 403, "provider_mismatch"],
    [toolCall(), { ...FOUND, connection: { ...CONNECTION, sealed: "v1.m1.\0" } }, 500, "credential_unreadable"],
    [toolCall(), { ...FOUND, call: { ...CALL, model: "gpt-5" } }, 400, "unknown_model"],
  ];
  for (const [req, found, status, code] of cases) {
    assert.deepEqual(gate.forward(req, found, NOW), { ok: false, status, code }, code);
  }
  assert.deepEqual(gate.keyId(new Headers()), { ok: false, status: 401, code: "no_api_key" });
  assert.throws(() => gate.mint(counting(0, 41)), VendoError);
  assert.throws(() => gate.seal("sk with space", CONNECTION, new Uint8Array(12)), VendoError);
  assert.throws(() => new ProviderGate(providerWasm, { ...PROVIDER_CONFIG, pepper: "00".repeat(31) }), VendoError);
  assert.throws(() => new ProviderGate(wasm, PROVIDER_CONFIG), VendoError);
});

/** A small seeded generator, so a failure repeats. */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function garbageString(r) {
  const alphabet = ["\0", "\r", "\n", " ", ";", "=", ",", ":", "é", "\u{1F600}", "\uD800", "x-vendo-", "__Host-vendo_session", "a", "%00", "."];
  const n = Math.floor(r() * 40);
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

function garbageValue(r) {
  const pick = Math.floor(r() * 12);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return undefined;
    case 2:
      return Math.floor(r() * 2 ** 40) * (r() < 0.5 ? -1 : 1);
    case 3:
      return r() * 10;
    case 4:
      return {};
    case 5:
      return [garbageString(r), garbageString(r)];
    case 6:
      return "x".repeat(MAX_INPUT_BYTES + 1);
    case 7:
      return 2 ** 64;
    default:
      return garbageString(r);
  }
}

/** Only a denial, with its status and code, may come back as a refusal. */
function isDenialOrOk(result, what) {
  if (result === undefined) return;
  assert.equal(typeof result.ok, "boolean", what);
  if (!result.ok) {
    assert.equal(typeof result.status, "number", what);
    assert.equal(typeof result.code, "string", what);
  }
}

/** Runs `f`; only a VendoError may escape. */
function survives(f, what) {
  try {
    return f();
  } catch (e) {
    assert.ok(e instanceof VendoError, `${what}: ${e?.name}: ${e?.message}`);
    return undefined;
  }
}

test("garbage through every entry point is a VendoError or a denial, and the instances keep working", () => {
  const r = rng(0x5eed);
  const vendo = new Vendo(wasm, CONFIG);
  const verifier = new AttestationVerifier(wasm, [{ kid: "a1", deployment_id: "d_1", key: deploymentKey("d_1") }]);
  for (let i = 0; i < 400; i++) {
    const g = () => garbageValue(r);
    const list = Array.from({ length: Math.floor(r() * 6) }, () => [garbageString(r), garbageString(r)]);
    survives(() => new Vendo(wasm, { session_keys: [{ kid: g(), key: g() }], apex: g(), session_cookie: g(), attestation: { kid: g(), secret: g() } }), "config");
    survives(() => new Vendo(wasm, g()), "config object");
    survives(() => new Vendo(g(), CONFIG), "module");
    const key = survives(() => vendo.routeKey(g()), "routeKey");
    if (key !== undefined) assert.equal(typeof key.ok, "boolean");
    const parts = { method: g(), host: g(), target: g(), headers: r() < 0.5 ? list : g() };
    const admitted = survives(() => vendo.admit(parts, r() < 0.5 ? ENTRY : g(), r() < 0.8 ? NOW : g(), r() < 0.5 ? { upstream: g() } : undefined), "admit");
    if (admitted !== undefined && !admitted.ok) {
      assert.equal(typeof admitted.code, "string");
      for (const [name] of admitted.headers) assert.ok(!name.toLowerCase().replace(/[_.]/g, "-").startsWith("x-vendo-"), name);
    }
    survives(() => vendo.strip(r() < 0.5 ? list : g()), "strip");
    survives(() => vendo.filterResponse(r() < 0.5 ? list : g()), "filterResponse");
    survives(() => vendo.verifySession(g(), g(), g(), g()), "verifySession");
    survives(() => verifier.verify({ method: g(), url: g(), headers: r() < 0.5 ? list : g() }, g()), "verify");
    survives(() => new AttestationVerifier(wasm, [{ kid: g(), deployment_id: g(), key: g() }], { maxAgeSecs: g() }), "verifier config");
  }
  // Oversized but well-formed input is refused, not truncated: as pairs,
  // and in a header whose value the gate reads. From `Headers`, the value
  // of a header the gate does not read never reaches the module.
  const huge = (name) => new Request("https://acme-crm.vendo.run/", { headers: { [name]: "y".repeat(MAX_INPUT_BYTES) } });
  assert.throws(() => vendo.admit(huge("cookie"), ENTRY, NOW), VendoError);
  assert.throws(() => vendo.admit({ host: "acme-crm.vendo.run", headers: [...huge("x-big").headers] }, ENTRY, NOW), VendoError);
  assert.equal(vendo.admit(huge("x-big"), ENTRY, NOW).code, "no_session");
  // After all of it, the same instances still decide correctly.
  assert.equal(vendo.admit(browserRequest(), ENTRY, NOW).ok, true);
  assert.equal(vendo.admit(browserRequest(), ENTRY, NOW + 7200).code, "expired");

  // The provider path (SPEC §6–§9): its configuration, the key check, mint,
  // seal, unseal and the call decision.
  const gate = new ProviderGate(providerWasm, PROVIDER_CONFIG);
  const g = () => garbageValue(r);
  const either = (valid) => (r() < 0.5 ? valid : g());
  const bytes = () => (r() < 0.7 ? counting(Math.floor(r() * 256), Math.floor(r() * 50)) : g());
  const outcomes = new Set();
  for (let i = 0; i < 400; i++) {
    // Garbage pairs, or names the provider path removes with values `Headers` can hold.
    const names = ["accept", "X_Vendo_User_Id", "x-vendo-tenant-id", "cookie", "api-key", "Proxy-Authorization", "connection"];
    const pair = () =>
      r() < 0.1 ? [garbageString(r), garbageString(r)] : [names[Math.floor(r() * names.length)], garbageString(r).replace(/[\0\r\n]/g, "")];
    const list = Array.from({ length: Math.floor(r() * 6) }, pair);
    if (r() < 0.6) list.push([r() < 0.5 ? "authorization" : "x-api-key", (r() < 0.5 ? "Bearer " : "") + API_KEY]);
    if (r() < 0.2) list.push(["x-api-key", API_KEY.slice(0, Math.floor(r() * API_KEY.length)) + garbageString(r)]);
    const headers = () => (r() < 0.7 ? list : g());
    // The valid row, none found, the row with one field garbled, or garbage.
    const spoil = (valid) => {
      const pick = r();
      if (pick < 0.6) return valid;
      if (pick < 0.7) return null;
      if (pick < 0.9) return { ...valid, [Object.keys(valid)[Math.floor(r() * Object.keys(valid).length)]]: g() };
      return g();
    };
    const [record, binding, connection] = [RECORD, BINDING, CONNECTION].map((v) => () => spoil(v));
    const call = () => spoil(CALL) ?? g();

    const rate = { provider: g(), model: g(), input: g(), output: g(), max_output: g() };
    survives(() => new ProviderGate(providerWasm, { pepper: either(PROVIDER_CONFIG.pepper), masters: either([{ kid: g(), key: g() }]), rates: either([rate]) }), "provider config");
    survives(() => new ProviderGate(providerWasm, g()), "provider config object");
    survives(() => new ProviderGate(g(), PROVIDER_CONFIG), "provider module");
    isDenialOrOk(survives(() => gate.keyId(headers()), "keyId"), "keyId");
    isDenialOrOk(survives(() => gate.checkKey(headers(), either(record()), either(NOW)), "checkKey"), "checkKey");
    const minted = survives(() => gate.mint(bytes()), "mint");
    if (minted !== undefined) assert.match(minted.api_key, /^vk1_[a-z2-7]{74}$/);
    const sealed = survives(() => gate.seal(g(), either(connection()), bytes()), "seal");
    if (sealed !== undefined) assert.match(sealed, /^v1\./);
    isDenialOrOk(survives(() => gate.unseal(either(CONNECTION.sealed), either(connection())), "unseal"), "unseal");
    const found = { adapter: r() < 0.8 ? "openai" : g(), record: record(), binding: binding(), connection: connection(), call: call() };
    const target = r() < 0.8 ? "/v1/chat/completions" : g();
    const forwarded = survives(() => gate.forward(r() < 0.9 ? { target, headers: headers() } : g(), r() < 0.9 ? found : g(), r() < 0.8 ? NOW : g()), "forward");
    isDenialOrOk(forwarded, "forward");
    if (forwarded !== undefined) outcomes.add(forwarded.ok ? "ok" : forwarded.code);
    if (forwarded?.ok) {
      for (const [name, value] of forwarded.headers) {
        assert.ok(!/^(x-api-key|api-key|cookie|proxy-authorization|x[-_.]vendo[-_.])/.test(name), name);
        if (name === "authorization") assert.equal(value, "Bearer sk-test-123");
      }
    }
  }
  // The garbage reached the decision, not only the parsers.
  for (const o of ["ok", "bad_request", "no_api_key", "malformed_api_key", "no_binding"]) assert.ok(outcomes.has(o), `${o} in ${[...outcomes]}`);
  // Oversized but well-formed input is refused, not truncated.
  assert.throws(() => gate.forward(toolCall({ "x-big": "y".repeat(MAX_INPUT_BYTES) }), FOUND, NOW), VendoError);
  assert.deepEqual(gate.keyId(toolCall()), { ok: true, key_id: RECORD.key_id });
  assert.equal(gate.forward(toolCall(), FOUND, NOW).reserve, "486");
  assert.equal(gate.forward(toolCall(), { ...FOUND, record: { ...RECORD, expires_at: NOW } }, NOW).code, "expired_api_key");
  assert.deepEqual(gate.unseal(CONNECTION.sealed, CONNECTION), { ok: true, credential: "sk-test-123" });
});

