// The JavaScript API (vendo.mjs) over the wasm module, in Node: an admit
// the tool side verifies, the changes a Worker applies, and garbage driven
// through every entry point, which must come back as a VendoError or a
// denial and leave the instance working.

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import test from "node:test";
import { fileURLToPath } from "node:url";
import { AttestationVerifier, MAX_INPUT_BYTES, Vendo, VendoError } from "../vendo.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const wasm = new WebAssembly.Module(
  readFileSync(process.env.VENDO_WASM ?? join(here, "../target/wasm32-unknown-unknown/release/vendo_worker.wasm")),
);

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

/** Runs `f`; only a VendoError may escape. */
function survives(f, what) {
  try {
    return f();
  } catch (e) {
    assert.ok(e instanceof VendoError, `${what}: ${e?.name}: ${e?.message}`);
    return undefined;
  }
}

test("garbage through every entry point is a VendoError or a denial, and the instance keeps working", () => {
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
  // Oversized but well-formed input is refused, not truncated.
  const huge = new Request("https://acme-crm.vendo.run/", { headers: { "x-big": "y".repeat(MAX_INPUT_BYTES) } });
  assert.throws(() => vendo.admit(huge, ENTRY, NOW), VendoError);
  // After all of it, the same instances still decide correctly.
  assert.equal(vendo.admit(browserRequest(), ENTRY, NOW).ok, true);
  assert.equal(vendo.admit(browserRequest(), ENTRY, NOW + 7200).code, "expired");
});
