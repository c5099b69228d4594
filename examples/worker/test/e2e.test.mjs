// End-to-end tests of the reference app proxy Worker (examples/worker).
//
// serve.mjs runs the Worker in the local Workers runtime on 127.0.0.1; these
// tests talk to it over real HTTP/1.1 with node:http (the deployment host in
// `Host`, as a browser would send it), in front of upstream tools
// (tool.mjs) that verify the proxy's attestation with their own deployment
// key and record everything they receive. The crypto the tests judge with
// (spec_crypto.mjs) is written from SPEC.md, not taken from the crate.
//
// 1. spec_crypto.mjs against SPEC's worked example and the session vectors.
// 2. The demo's story (README): one test per row: a valid session, forged
//    identity in every spelling, Connection nominations, another tenant's
//    or deployment's session, expired / missing / duplicate sessions,
//    reserved, unknown and foreign hosts, cross-site POSTs from a sibling
//    deployment, a same-origin POST with a body, hostile tool responses
//    (SPEC §3.3), a rename, an unreachable upstream, re-issue on key
//    rotation, requests straight to the tool, targets the URL parser
//    rewrites, ambiguous authorities, and that the session cookie never
//    reaches a tool. Then a Worker without an attestation secret.
// 3. tests/vectors/forward.jsonl and cross_site.jsonl replayed as real
//    requests, one proxy per configuration (apex, cookie, keys, now);
//    filter_response.jsonl replayed as tool answers. A vector that
//    HTTP/1.1 through node:http cannot carry is skipped by a rule that
//    reads the vector alone, and named; a vector with several Cookie fields
//    is replayed against the outcome for the one combined field that the
//    runtime hands the Worker; a configuration the runner refuses must stop
//    serve.mjs from starting.

import test, { after, before, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import {
  IDENTITY_HEADERS,
  b64uEncode,
  bytesToHex,
  deriveDeploymentKey,
  inNamespace,
  mintSession,
  signAttestation,
  verifyAttestation,
  verifySession,
} from "./spec_crypto.mjs";
import { HOSTILE, patternBytes, startTool } from "./tool.mjs";

const WORKER_DIR = fileURLToPath(new URL("..", import.meta.url));
const SERVE = join(WORKER_DIR, "serve.mjs");
const VECTORS = fileURLToPath(new URL("../../../tests/vectors/", import.meta.url));

const SESSION = "__Host-vendo_session";
const NOW = 1700000000;

// The status of each SPEC §5 denial code, as the README states it: 400 for
// a host that can never name a deployment, 404 for an unknown, mismatched,
// reserved or foreign host, 403 for a request another deployment's page
// started and for another tenant's or deployment's session, 401 for a
// missing or invalid session.
const STATUS = {
  invalid_host: 400,
  invalid_label: 400,
  too_deep: 400,
  not_under_apex: 404,
  apex: 404,
  reserved: 404,
  not_found: 404,
  route_mismatch: 404,
  cross_site_request: 403,
  wrong_tenant: 403,
  wrong_deployment: 403,
  no_session: 401,
  duplicate_session: 401,
  malformed: 401,
  unknown_key: 401,
  bad_signature: 401,
  bad_claims: 401,
  lifetime_too_long: 401,
  not_yet_valid: 401,
  expired: 401,
  upstream_unreachable: 502,
};

// ---------------------------------------------------------------- helpers

const seq = (start, n) => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);
const readVectors = (file) =>
  readFileSync(join(VECTORS, file), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l));

/** Every child this file started, so that a crash still stops them. */
const children = new Set();
process.on("exit", () => {
  for (const child of children) child.kill("SIGTERM");
});

/**
 * Starts serve.mjs with `config`; resolves once it printed its listening
 * line. Returns { port, command(obj), stop(), stderr() }.
 */
async function startProxy(config) {
  assert.ok(existsSync(SERVE), `${SERVE} does not exist`);
  const dir = await mkdtemp(join(tmpdir(), "vendo-worker-e2e-"));
  const configPath = join(dir, "config.json");
  await writeFile(configPath, JSON.stringify(config));
  const child = spawn(process.execPath, [SERVE, configPath], { cwd: WORKER_DIR, stdio: ["pipe", "pipe", "pipe"] });
  children.add(child);
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => {
    if (stderr.length < 65536) stderr += d;
  });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  exited.then(() => children.delete(child));
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  let onListening;
  const listening = new Promise((resolve, reject) => {
    onListening = { resolve, reject };
  });
  let first = true;
  lines.on("line", (line) => {
    if (first) {
      first = false;
      const m = /^listening on http:\/\/127\.0\.0\.1:(\d+)\s*$/.exec(line);
      if (m) onListening.resolve(Number(m[1]));
      else onListening.reject(new Error(`first stdout line was not the listening line: ${line}`));
      return;
    }
    const pending = waiting.shift();
    if (pending) pending.resolve(line);
  });
  exited.then(({ code, signal }) => {
    const err = new Error(`serve.mjs exited (code ${code}, signal ${signal}); stderr:\n${stderr}`);
    onListening.reject(err);
    for (const p of waiting.splice(0)) p.reject(err);
  });
  const timer = setTimeout(() => onListening.reject(new Error(`serve.mjs did not listen within 60 s; stderr:\n${stderr}`)), 60000);
  let port;
  try {
    port = await listening;
  } catch (e) {
    child.kill("SIGTERM");
    await exited;
    await rm(dir, { recursive: true, force: true });
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return {
    port,
    stderr: () => stderr,
    /** Sends one JSON command on stdin; resolves with the parsed answer line. */
    command(obj) {
      return new Promise((resolve, reject) => {
        waiting.push({ resolve: (line) => resolve(JSON.parse(line)), reject });
        child.stdin.write(`${JSON.stringify(obj)}\n`);
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const late = setTimeout(() => child.kill("SIGKILL"), 10000);
        await exited;
        clearTimeout(late);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One HTTP/1.1 request with node:http. `headers` is a [[name, value], ...]
 * list sent in order, repeated names as separate fields; `host` goes first.
 * Resolves { status, headers: [[lowercase name, value]], all(name), get(name), body, text }.
 */
function send(port, { method = "GET", host, path = "/", headers = [], body }) {
  return new Promise((resolve, reject) => {
    const flat = [];
    if (host !== undefined) flat.push("Host", host);
    for (const [n, v] of headers) flat.push(n, v);
    if (body !== undefined && !headers.some(([n]) => /^(content-length|transfer-encoding)$/i.test(n))) {
      flat.push("Content-Length", String(body.length));
    }
    const req = http.request({ host: "127.0.0.1", port, method, path, headers: flat, agent: false, setHost: false }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const list = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) list.push([res.rawHeaders[i].toLowerCase(), res.rawHeaders[i + 1]]);
        const all = (name) => list.filter(([n]) => n === name).map(([, v]) => v);
        const data = Buffer.concat(chunks);
        resolve({ status: res.statusCode, headers: list, all, get: (name) => all(name).join(", ") || undefined, body: data, text: data.toString("latin1") });
      });
      res.on("error", reject);
    });
    req.setTimeout(20000, () => req.destroy(new Error(`no answer within 20 s: ${method} ${host} ${path}`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
async function deadPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The pairs of every Cookie header as [name, value], SPEC §3 style. */
function cookiePairs(headers) {
  return headers
    .filter(([n]) => n.toLowerCase() === "cookie")
    .flatMap(([, v]) => v.split(";"))
    .map((p) => p.replace(/^[ \t]+|[ \t]+$/g, ""))
    .filter((p) => p !== "")
    .map((p) => {
      const i = p.indexOf("=");
      return i < 0 ? [p, ""] : [p.slice(0, i).trim(), p.slice(i + 1).trim()];
    });
}

const mentionsSession = (headers, name = SESSION) =>
  cookiePairs(headers).some(([n, v]) => `${n}=${v}`.toLowerCase().includes(name.toLowerCase()));

/** The tool-side namespace of a record: lowercase names of the x-vendo- collision namespace with values. */
const namespaceOf = (record) => record.headers.filter(([n]) => inNamespace(n)).map(([n, v]) => [n.toLowerCase(), v]);

function assertDenied(res, code) {
  assert.equal(res.status, STATUS[code], `status for ${code}; body ${JSON.stringify(res.text)}`);
  assert.equal(res.text, `${code}\n`);
  assert.match(res.get("content-type") ?? "", /^text\/plain\b/);
}

/** Runs `fn` and asserts that none of `tools` received a request meanwhile. */
async function reachesNoTool(tools, fn) {
  const before = tools.map((t) => t.records.length);
  const out = await fn();
  tools.forEach((t, i) => assert.equal(t.records.length, before[i], `${t.name} received a request`));
  return out;
}

/** Runs `fn` and returns the one record `tool` received meanwhile (asserting there was exactly one). */
async function reachesToolOnce(tool, fn) {
  const before = tool.records.length;
  const res = await fn();
  assert.equal(tool.records.length, before + 1, `${tool.name} should have received exactly one request; proxy answered ${res.status} ${JSON.stringify(res.text.slice(0, 200))}`);
  return { res, record: tool.records[before] };
}

/**
 * What a tool must see from the proxy: the upstream's authority as Host,
 * exactly the five namespace headers (once each) carrying `identity`, an
 * attestation that verified with the tool's key (for `ts`), no namespace
 * `Connection` token and no session cookie.
 */
function assertAttested(record, tool, identity, { method, url, ts = NOW, session = SESSION } = {}) {
  assert.deepEqual(record.attestation, { ok: true, identity, kid: "a1", ts }, "attestation verified by the tool");
  const hosts = record.headers.filter(([n]) => n.toLowerCase() === "host").map(([, v]) => v);
  assert.deepEqual(hosts, [tool.authority], "the tool receives the upstream's authority as Host");
  const ns = namespaceOf(record);
  assert.deepEqual(ns.map(([n]) => n).sort(), [...IDENTITY_HEADERS, "x-vendo-attestation"].sort(), "exactly the five namespace headers");
  assert.deepEqual(
    Object.fromEntries(ns.filter(([n]) => n !== "x-vendo-attestation")),
    {
      "x-vendo-tenant-id": identity.tenant_id,
      "x-vendo-deployment-id": identity.deployment_id,
      "x-vendo-user-id": identity.user_id,
      "x-vendo-user-email": identity.email,
    },
  );
  for (const [n, v] of record.headers) {
    if (n.toLowerCase() === "connection") {
      assert.ok(!v.split(",").some((t) => inNamespace(t.trim())), `Connection names the namespace: ${v}`);
    }
  }
  assert.ok(!mentionsSession(record.headers, session), "the session cookie reached the tool");
  if (method !== undefined) assert.equal(record.method, method);
  if (url !== undefined) assert.equal(record.url, url);
}

// ---------------------------------------------------------------- 1. spec_crypto

test("spec_crypto reproduces SPEC §3.1's worked attestation example", async () => {
  const key = await deriveDeploymentKey(seq(0, 32), "d_1");
  assert.equal(bytesToHex(key), "55e58a686c6d1d410b86b791e94255e247245c6a4960dae75163c9a8cad1d809");
  const identity = { tenant_id: "t_1", deployment_id: "d_1", user_id: "u_1", email: "a@b.io" };
  const header = await signAttestation({ kid: "k2024", ts: 1700000000, method: "GET", authority: "acme-crm.vendo.run", pathAndQuery: "/api/items?page=2", identity }, key);
  assert.equal(header, "v1.k2024.1700000000.UKVcKgRcZRtrc3J3nJSHgnQ_hjuSN7f2niV9AP_EcrM");
  const headers = [
    ["Host", "acme-crm.vendo.run"],
    ["X-Vendo-Tenant-Id", "t_1"],
    ["x-vendo-deployment-id", "d_1"],
    ["x-vendo-user-id", "u_1"],
    ["x-vendo-user-email", "a@b.io"],
    ["x-vendo-attestation", header],
  ];
  const verify = (req, now = NOW) => verifyAttestation(req, { keys: [{ kid: "k2024", key }], deploymentId: "d_1", now });
  const ok = await verify({ method: "GET", target: "/api/items?page=2", headers });
  assert.deepEqual(ok, { ok: true, identity, kid: "k2024", ts: 1700000000 });
  const code = async (req, now) => (await verify(req, now)).code;
  assert.equal(await code({ method: "GET", target: "/api/items?page=3", headers }), "bad_signature");
  assert.equal(await code({ method: "POST", target: "/api/items?page=2", headers }), "bad_signature");
  assert.equal(await code({ method: "GET", target: "/api/items?page=2", headers: [...headers, ["X_Vendo_User_Id", "x"]] }), "unexpected_header");
  assert.equal(await code({ method: "GET", target: "/api/items?page=2", headers: [...headers, ["Connection", "close, x.vendo.user.id"]] }), "unexpected_header");
  assert.equal(await code({ method: "GET", target: "/api/items?page=2", headers: headers.slice(0, 5) }), "missing");
  assert.equal(await code({ method: "GET", target: "/api/items?page=2", headers: [...headers, ["x-vendo-user-id", "u_1"]] }), "duplicate_header");
  assert.equal(await code({ method: "GET", target: "/api/items?page=2", headers: headers.slice(1) }), "missing_authority");
  assert.equal(await code({ method: "GET", target: "/api/items?page=2", headers }, NOW + 66), "expired");
  assert.equal(await code({ method: "GET", target: "/api/items?page=2", headers }, NOW - 6), "not_yet_valid");
});

test("spec_crypto mints the forward vectors' token and agrees with every session vector", async () => {
  const f1 = readVectors("forward.jsonl").find((v) => v.id === "f1");
  const token = await mintSession({ tenant_id: "t_1", deployment_id: "d_1", user_id: "u_1", email: "a@b.io", iat: 1699990000, exp: 1700030000 }, { kid: "k1", key: f1.keys.k1 });
  assert.equal(f1.headers[0][1], `${SESSION}=${token}; theme=dark`);
  let checked = 0;
  for (const v of readVectors("sessions.jsonl")) {
    if (v.expect.error === "bad_request") continue; // runner input errors, not token outcomes
    const got = await verifySession(v.token, v.keys, {
      now: v.now,
      leeway: v.leeway_s ?? 60,
      maxLifetime: v.max_lifetime_s ?? 604800,
      tenantId: v.tenant_id,
      deploymentId: v.deployment_id,
    });
    if (v.expect.ok) {
      assert.ok(got.ok, `${v.id}: ${v.why}: got ${got.code}`);
      assert.deepEqual({ ...got.claims }, { tenant_id: v.expect.ok.tenant_id, deployment_id: v.expect.ok.deployment_id, user_id: v.expect.ok.user_id, email: v.expect.ok.email, iat: v.expect.ok.iat, exp: v.expect.ok.exp }, v.id);
    } else {
      assert.equal(got.code, v.expect.error, `${v.id}: ${v.why}`);
    }
    checked++;
  }
  assert.ok(checked >= 100, `only ${checked} session vectors checked`);
});

// ---------------------------------------------------------------- 2. the demo's story

describe("the demo's story through the Worker", () => {
  const keys = {
    k2026: { kid: "k2026", key: bytesToHex(seq(0x10, 32)) }, // primary
    k2025: { kid: "k2025", key: bytesToHex(seq(0x30, 32)) }, // being rotated out
  };
  const attestSecret = seq(0x50, 32);
  const ADA = { tenant_id: "t_acme", deployment_id: "d_acme_crm", user_id: "u_ada", email: "ada@acme.example" };
  const EVE = { tenant_id: "t_evil", deployment_id: "d_evil_x", user_id: "u_eve", email: "eve@evil.example" };
  const BOB = { tenant_id: "t_globex", deployment_id: "d_globex_wiki", user_id: "u_bob", email: "bob@globex.example" };
  const routes = {};
  let proxy, acme, globex, evil, tools;
  const tok = {};
  const minted = [];
  const mint = async (identity, { iat = NOW - 600, exp = NOW + 8 * 3600, key = keys.k2026 } = {}) => {
    const t = await mintSession({ ...identity, iat, exp }, key);
    minted.push(t);
    return t;
  };
  const at = (host, opts = {}) => send(proxy.port, { host, ...opts });
  const withSession = (token, more = []) => [["Cookie", `${SESSION}=${token}; theme=dark`], ...more];

  before(async () => {
    const tool = async (name, deploymentId) =>
      startTool({ name, deploymentId, keys: [{ kid: "a1", key: await deriveDeploymentKey(attestSecret, deploymentId) }], now: () => NOW });
    acme = await tool("acme-crm", "d_acme_crm");
    globex = await tool("wiki.globex", "d_globex_wiki");
    evil = await tool("evil-x", "d_evil_x");
    tools = [acme, globex, evil];
    routes["acme-crm"] = { tenant_id: "t_acme", deployment_id: "d_acme_crm", tenant_slug: "acme", deployment_slug: "crm", upstream: acme.url };
    routes["wiki.globex"] = { tenant_id: "t_globex", deployment_id: "d_globex_wiki", tenant_slug: "globex", deployment_slug: "wiki", upstream: globex.url };
    routes["evil-x"] = { tenant_id: "t_evil", deployment_id: "d_evil_x", tenant_slug: "evil", deployment_slug: "x", upstream: evil.url };
    proxy = await startProxy({
      apex: "vendo.run",
      session_cookie: SESSION,
      session_keys: [keys.k2026, keys.k2025],
      attestation: { kid: "a1", secret: bytesToHex(attestSecret) },
      routes,
      now: NOW,
    });
    tok.ada = await mint(ADA);
    tok.bob = await mint(BOB);
    tok.adaOtherDeployment = await mint({ ...ADA, deployment_id: "d_acme_wiki" });
    tok.adaExpired = await mint(ADA, { iat: NOW - 7200, exp: NOW - 3600 });
    tok.adaOldKey = await mint(ADA, { iat: NOW - 600, exp: NOW + 3000, key: keys.k2025 });
  }, { timeout: 90000 });

  after(async () => {
    await proxy?.stop();
    for (const t of tools ?? []) await t.close();
  });

  let captured; // a genuine forwarded request, for the direct-to-tool rows

  test("1. a valid session: the tool gets the verified identity and an attestation that verifies", async () => {
    const { res, record } = await reachesToolOnce(acme, () => at("acme-crm.vendo.run", { path: "/api/items?page=2", headers: withSession(tok.ada) }));
    assert.equal(res.status, 200);
    assertAttested(record, acme, ADA, { method: "GET", url: "/api/items?page=2" });
    assert.deepEqual(cookiePairs(record.headers), [["theme", "dark"]], "other cookies reach the tool");
    assert.deepEqual(JSON.parse(res.text).attestation.identity, ADA, "the tool's answer is relayed");
    assert.ok(!res.all("set-cookie").some((c) => c.startsWith(`${SESSION}=`)), "no re-issue for a fresh session under the primary key");
    captured = record;
  });

  test("2. forged identity in every spelling is removed and replaced", async () => {
    const forged = [
      ["X-Vendo-User-Id", "u_admin"],
      ["x_vendo_user_id", "u_admin"],
      ["X.Vendo.User.Id", "u_admin"],
      ["X-VENDO-TENANT-ID", "t_globex"],
      ["x-vendo-deployment-id", "d_globex_wiki"],
      ["X_Vendo.User-Email", "boss@acme.example"],
      ["x-vendo-attestation", `v1.a1.${NOW}.${b64uEncode(new Uint8Array(32))}`],
      ["X-Vendo-Role", "admin"],
      ["x.vendo.impersonate", "u_admin"],
      ["X-Vendor", "kept"],
    ];
    const { res, record } = await reachesToolOnce(acme, () => at("acme-crm.vendo.run", { path: "/inbox", headers: withSession(tok.ada, forged) }));
    assert.equal(res.status, 200);
    assertAttested(record, acme, ADA, { method: "GET", url: "/inbox" });
    assert.deepEqual(record.headers.filter(([n]) => n.toLowerCase() === "x-vendor").map(([, v]) => v), ["kept"], "a name outside the namespace is kept");
  });

  test("3. Connection nominations of the namespace are removed", async () => {
    const { res, record } = await reachesToolOnce(acme, () =>
      at("acme-crm.vendo.run", { path: "/inbox", headers: withSession(tok.ada, [["Connection", "keep-alive, X_Vendo_User_Id, x-vendo-tenant-id, X.Vendo.Attestation"]]) }),
    );
    assert.equal(res.status, 200);
    assertAttested(record, acme, ADA, { method: "GET", url: "/inbox" });
  });

  test("4. another tenant's session: 403 wrong_tenant, the tool receives nothing", async () => {
    const res = await reachesNoTool(tools, () => at("acme-crm.vendo.run", { headers: withSession(tok.bob, [["X-Vendo-User-Id", "u_admin"]]) }));
    assertDenied(res, "wrong_tenant");
  });

  test("5. another deployment's session of the same tenant: 403 wrong_deployment", async () => {
    const res = await reachesNoTool(tools, () => at("acme-crm.vendo.run", { headers: withSession(tok.adaOtherDeployment) }));
    assertDenied(res, "wrong_deployment");
  });

  test("6. an expired session: 401 expired", async () => {
    const res = await reachesNoTool(tools, () => at("acme-crm.vendo.run", { headers: withSession(tok.adaExpired) }));
    assertDenied(res, "expired");
  });

  test("7. no session: 401 no_session, even with forged identity headers", async () => {
    const res = await reachesNoTool(tools, () =>
      at("acme-crm.vendo.run", { headers: [["Cookie", "theme=dark"], ["X-Vendo-User-Id", "u_ada"], ["X-Vendo-Tenant-Id", "t_acme"]] }),
    );
    assertDenied(res, "no_session");
  });

  test("8. a duplicate session cookie (cookie tossing): 401 duplicate_session", async () => {
    const res = await reachesNoTool(tools, () => at("acme-crm.vendo.run", { headers: [["Cookie", `${SESSION}=${tok.ada}; theme=dark; ${SESSION}=${tok.bob}`]] }));
    assertDenied(res, "duplicate_session");
  });

  test("9. the reserved host admin.vendo.run: 404 reserved, even with a route under its key", async () => {
    assert.deepEqual(await proxy.command({ op: "put", key: "admin", entry: { ...routes["acme-crm"], tenant_slug: "admin", deployment_slug: "x" } }), { ok: true });
    try {
      const res = await reachesNoTool(tools, () => at("admin.vendo.run", { headers: withSession(tok.ada) }));
      assertDenied(res, "reserved");
    } finally {
      assert.deepEqual(await proxy.command({ op: "delete", key: "admin" }), { ok: true });
    }
  });

  test("10. an unknown host: 404 not_found", async () => {
    const res = await reachesNoTool(tools, () => at("nobody-here.vendo.run", { headers: withSession(tok.ada) }));
    assertDenied(res, "not_found");
  });

  test("11. hosts outside the apex: 404 not_under_apex; the proxy's own IP: 400 invalid_host", async () => {
    for (const host of ["acme-crm.evilvendo.run", "acme-crm.vendo.run.attacker.example", "vendo.run.example"]) {
      assertDenied(await reachesNoTool(tools, () => at(host, { headers: withSession(tok.ada) })), "not_under_apex");
    }
    assertDenied(await reachesNoTool(tools, () => at(`127.0.0.1:${proxy.port}`, { headers: withSession(tok.ada) })), "invalid_host");
    assertDenied(await reachesNoTool(tools, () => at("vendo.run", { headers: withSession(tok.ada) })), "apex");
  });

  test("12. a legacy host routes to its own deployment", async () => {
    const { res, record } = await reachesToolOnce(globex, () => at("Wiki.Globex.vendo.run.:443", { path: "/pages/home", headers: withSession(tok.bob) }));
    assert.equal(res.status, 200);
    assertAttested(record, globex, BOB, { method: "GET", url: "/pages/home" });
  });

  test("13. a form POST started by another deployment's page: 403 cross_site_request, the tool receives nothing", async () => {
    const body = Buffer.from("title=pwned&owner=u_evil");
    const site = [
      ["Sec-Fetch-Site", "same-site"],
      ["Sec-Fetch-Mode", "navigate"],
      ["Sec-Fetch-Dest", "document"],
      ["Origin", "https://evil-x.vendo.run"],
      ["Content-Type", "application/x-www-form-urlencoded"],
    ];
    const res = await reachesNoTool(tools, () => at("acme-crm.vendo.run", { method: "POST", path: "/items", headers: withSession(tok.ada, site), body }));
    assertDenied(res, "cross_site_request");
  });

  test("14. the same POST from a browser without Fetch Metadata (foreign Origin): 403 cross_site_request", async () => {
    const body = Buffer.from("title=pwned");
    const headers = withSession(tok.ada, [["Origin", "https://evil-x.vendo.run"], ["Content-Type", "application/x-www-form-urlencoded"]]);
    assertDenied(await reachesNoTool(tools, () => at("acme-crm.vendo.run", { method: "POST", path: "/items", headers, body })), "cross_site_request");
    const nul = withSession(tok.ada, [["Origin", "null"]]);
    assertDenied(await reachesNoTool(tools, () => at("acme-crm.vendo.run", { method: "DELETE", path: "/items/1", headers: nul })), "cross_site_request");
  });

  test("15. a link from another deployment's page still opens (top-level GET navigation)", async () => {
    const nav = [["Sec-Fetch-Site", "same-site"], ["Sec-Fetch-Mode", "navigate"], ["Sec-Fetch-Dest", "document"], ["Referer", "https://evil-x.vendo.run/"]];
    const { res, record } = await reachesToolOnce(acme, () => at("acme-crm.vendo.run", { path: "/items", headers: withSession(tok.ada, nav) }));
    assert.equal(res.status, 200);
    assertAttested(record, acme, ADA, { method: "GET", url: "/items" });
  });

  test("16. a same-origin POST with a body reaches the tool intact", async () => {
    const body = randomBytes(256 * 1024);
    const headers = withSession(tok.ada, [
      ["Sec-Fetch-Site", "same-origin"],
      ["Sec-Fetch-Mode", "cors"],
      ["Origin", "https://acme-crm.vendo.run"],
      ["Content-Type", "application/octet-stream"],
    ]);
    const { res, record } = await reachesToolOnce(acme, () => at("acme-crm.vendo.run", { method: "POST", path: "/upload?name=a%20b", headers, body }));
    assert.equal(res.status, 200);
    assertAttested(record, acme, ADA, { method: "POST", url: "/upload?name=a%20b" });
    assert.ok(record.body.equals(body), `body changed on the way: ${record.body.length} bytes arrived of ${body.length}`);
    assert.equal(JSON.parse(res.text).bodyLength, body.length);
  });

  test("17. a tool's large answer streams back unchanged", async () => {
    const { res, record } = await reachesToolOnce(acme, () => at("acme-crm.vendo.run", { path: "/bytes/1048576", headers: withSession(tok.ada) }));
    assert.equal(res.status, 200);
    assertAttested(record, acme, ADA, { url: "/bytes/1048576" });
    assert.ok(res.body.equals(patternBytes(1048576)), `got ${res.body.length} bytes`);
  });

  test("18. a tool's Set-Cookie with a Domain attribute is removed, its host-only cookie kept", async () => {
    const eve = await mint(EVE);
    const { res } = await reachesToolOnce(evil, () => at("evil-x.vendo.run", { path: "/set-cookie/domain", headers: withSession(eve) }));
    assert.equal(res.status, 200);
    assert.deepEqual(res.all("set-cookie"), ["pref=1; Path=/"]);
    assert.equal(res.text, "domain\n");
  });

  test("19. a tool's Set-Cookie naming the session cookie is removed, its other cookie kept", async () => {
    const { res } = await reachesToolOnce(acme, () => at("acme-crm.vendo.run", { path: "/set-cookie/session", headers: withSession(tok.ada) }));
    assert.equal(res.status, 200);
    assert.deepEqual(res.all("set-cookie"), ["pref=1; Path=/"]);
  });

  test("20. a hostile tool's answer: Domain and session-named cookies, Set-Cookie2 and the namespace removed; the rest kept in order", async () => {
    const { res } = await reachesToolOnce(acme, () => at("acme-crm.vendo.run", { path: "/set-cookie/hostile", headers: withSession(tok.ada) }));
    assert.equal(res.status, 200);
    assert.deepEqual(res.all("set-cookie"), HOSTILE.keptCookies);
    assert.deepEqual(res.all("set-cookie2"), []);
    assert.deepEqual(res.headers.filter(([n]) => inNamespace(n)), [], "no namespace header reaches the browser");
    for (const [n, v] of HOSTILE.keptOther) assert.equal(res.get(n), v, n);
    assert.equal(res.text, "hostile\n");
  });

  test("21. a tool's redirect is relayed to the browser, not followed by the proxy", async () => {
    const { res } = await reachesToolOnce(acme, () => at("acme-crm.vendo.run", { path: "/redirect", headers: withSession(tok.ada) }));
    assert.equal(res.status, 302);
    assert.equal(res.get("location"), "/echo?from=redirect");
  });

  test("22. a rename: the new host serves at once, the old one 404s", async () => {
    const renamed = { ...routes["acme-crm"], deployment_slug: "sales" };
    assert.deepEqual(await proxy.command({ op: "put", key: "acme-sales", entry: renamed }), { ok: true });
    assert.deepEqual(await proxy.command({ op: "delete", key: "acme-crm" }), { ok: true });
    try {
      const { res, record } = await reachesToolOnce(acme, () => at("acme-sales.vendo.run", { path: "/inbox", headers: withSession(tok.ada) }));
      assert.equal(res.status, 200);
      assertAttested(record, acme, ADA, { url: "/inbox" });
      assertDenied(await reachesNoTool(tools, () => at("acme-crm.vendo.run", { path: "/inbox", headers: withSession(tok.ada) })), "not_found");
    } finally {
      assert.deepEqual(await proxy.command({ op: "put_host", host: "ACME-CRM.vendo.run:443", entry: routes["acme-crm"] }), { ok: true, key: "acme-crm" });
      assert.deepEqual(await proxy.command({ op: "delete", key: "acme-sales" }), { ok: true });
    }
    const { res } = await reachesToolOnce(acme, () => at("acme-crm.vendo.run", { headers: withSession(tok.ada) }));
    assert.equal(res.status, 200, "the restored route serves again");
  });

  test("23. a route entry whose slugs do not rebuild the host: 404 route_mismatch", async () => {
    assert.deepEqual(await proxy.command({ op: "put_host", host: "acme-billing.vendo.run", entry: routes["acme-crm"] }), { ok: true, key: "acme-billing" });
    try {
      assertDenied(await reachesNoTool(tools, () => at("acme-billing.vendo.run", { headers: withSession(tok.ada) })), "route_mismatch");
    } finally {
      assert.deepEqual(await proxy.command({ op: "put_host", host: "acme-billing.vendo.run", entry: null }), { ok: true, key: "acme-billing" });
    }
    assert.deepEqual(await proxy.command({ op: "put_host", host: "acme crm.vendo.run", entry: null }), { ok: false, code: "invalid_host" });
  });

  test("24. an unreachable upstream: 502 upstream_unreachable", async () => {
    const entry = { tenant_id: "t_acme", deployment_id: "d_acme_gone", tenant_slug: "acme", deployment_slug: "gone", upstream: `http://127.0.0.1:${await deadPort()}` };
    assert.deepEqual(await proxy.command({ op: "put", key: "acme-gone", entry }), { ok: true });
    try {
      const res = await at("acme-gone.vendo.run", { headers: withSession(await mint({ ...ADA, deployment_id: "d_acme_gone" })) });
      assertDenied(res, "upstream_unreachable");
    } finally {
      await proxy.command({ op: "delete", key: "acme-gone" });
    }
  });

  test("25. a session signed by the key being rotated out is admitted and re-issued under the primary key", async () => {
    const { res, record } = await reachesToolOnce(acme, () => at("acme-crm.vendo.run", { path: "/set-cookie/session", headers: withSession(tok.adaOldKey) }));
    assert.equal(res.status, 200);
    assertAttested(record, acme, ADA, { url: "/set-cookie/session" });
    // The crate documents the replacement (Gate::reissue): the same identity,
    // issued now, with the lifetime of the session it replaces (exp - iat =
    // 3600 here), signed by the primary key; so it is known byte for byte.
    const lifetime = 3600;
    const fresh = await mintSession({ ...ADA, iat: NOW, exp: NOW + lifetime }, keys.k2026);
    const sessionCookies = res.all("set-cookie").filter((c) => c.toLowerCase().includes(SESSION.toLowerCase()));
    assert.equal(sessionCookies.length, 1, `one session Set-Cookie, the proxy's: ${JSON.stringify(res.all("set-cookie"))}`);
    const [pair, ...attrs] = sessionCookies[0].split(";").map((s) => s.trim());
    assert.equal(pair, `${SESSION}=${fresh}`, "the fresh token: same identity, issued now, same lifetime, primary key");
    const names = attrs.map((a) => a.split("=")[0].trim().toLowerCase());
    for (const a of ["path=/", "secure", "httponly"]) assert.ok(attrs.map((x) => x.toLowerCase()).includes(a), `${a} in ${sessionCookies[0]}`);
    assert.ok(!names.includes("domain"), "a __Host- cookie has no Domain");
    assert.ok(res.all("set-cookie").includes("pref=1; Path=/"), "the tool's own cookie is kept");
    const verified = await verifySession(fresh, { k2026: keys.k2026.key }, { now: NOW, tenantId: ADA.tenant_id, deploymentId: ADA.deployment_id });
    assert.ok(verified.ok);
  });

  test("26. requests straight to the tool fail attestation", async () => {
    assert.ok(captured, "row 1 captured a genuine forwarded request");
    const direct = (headers, path = captured.url, host = acme.authority) =>
      reachesToolOnce(acme, () => send(acme.port, { host, path, headers })).then(({ res, record }) => {
        assert.equal(res.status, 401);
        return record.attestation.code;
      });
    const genuine = captured.headers.filter(([n]) => inNamespace(n));
    const identity = [
      ["x-vendo-tenant-id", "t_acme"],
      ["x-vendo-deployment-id", "d_acme_crm"],
      ["x-vendo-user-id", "u_admin"],
      ["x-vendo-user-email", "admin@acme.example"],
    ];
    // Forged identity, no attestation.
    assert.equal(await direct(identity), "missing");
    // Forged identity, a made-up attestation.
    assert.equal(await direct([...identity, ["x-vendo-attestation", `v1.a1.${NOW}.${b64uEncode(randomBytes(32))}`]]), "bad_signature");
    // A genuine attestation with the user id swapped.
    assert.equal(await direct(genuine.map(([n, v]) => [n, n.toLowerCase() === "x-vendo-user-id" ? "u_admin" : v])), "bad_signature");
    // A genuine attestation replayed on another path.
    assert.equal(await direct(genuine, "/admin/delete-everything"), "bad_signature");
    // A genuine attestation with an extra spelling of the namespace.
    assert.equal(await direct([...genuine, ["X_Vendo_User_Id", "u_admin"]]), "unexpected_header");
    // The attestation another deployment's tool received, replayed to this one.
    const eve = await mint(EVE);
    const { record: evilRecord } = await reachesToolOnce(evil, () => at("evil-x.vendo.run", { path: captured.url, headers: withSession(eve) }));
    assert.ok(evilRecord.attestation.ok);
    assert.equal(await direct(evilRecord.headers.filter(([n]) => inNamespace(n))), "bad_signature");
    // Evil's tool holds only its own deployment key: what it signs for acme's deployment does not verify at acme.
    const evilKey = await deriveDeploymentKey(attestSecret, "d_evil_x");
    const forgedByEvil = await signAttestation({ kid: "a1", ts: NOW, method: "GET", authority: acme.authority, pathAndQuery: "/inbox", identity: { ...ADA, user_id: "u_admin" } }, evilKey);
    assert.equal(
      await direct([["x-vendo-tenant-id", ADA.tenant_id], ["x-vendo-deployment-id", ADA.deployment_id], ["x-vendo-user-id", "u_admin"], ["x-vendo-user-email", ADA.email], ["x-vendo-attestation", forgedByEvil]], "/inbox"),
      "bad_signature",
    );
  });

  test("27. a target the URL parser normalizes is attested as it is forwarded", async () => {
    const { res, record } = await reachesToolOnce(acme, () => at("acme-crm.vendo.run", { path: '/a/./b/../c%2Fd?q="x"&r={1}&s=%41', headers: withSession(tok.ada) }));
    assert.equal(res.status, 200, `tool answered ${res.text}`);
    assertAttested(record, acme, ADA, { method: "GET" });
    assert.match(record.url, /^\/a\/c%2Fd\?/, "dot segments resolved, the query kept");
  });

  test("28. a target with an empty query (`/items?`) is attested as it is forwarded", async () => {
    for (const path of ["/items?", "/?"]) {
      const { res, record } = await reachesToolOnce(acme, () => at("acme-crm.vendo.run", { path, headers: withSession(tok.ada) }));
      assert.equal(res.status, 200, `${path}: the tool received ${record.url} and answered ${res.status} ${JSON.stringify(res.text)}`);
      assertAttested(record, acme, ADA, { method: "GET" });
    }
  });

  test("29. a request whose authority is ambiguous or missing never reaches a tool", async () => {
    const refused = async (what, options) => {
      const res = await reachesNoTool(tools, () => send(proxy.port, options));
      assert.ok(res.status >= 400 && res.status < 600, `${what}: answered ${res.status}`);
    };
    const cookie = withSession(tok.ada);
    await refused("two Host fields", { headers: [["Host", "acme-crm.vendo.run"], ["Host", "evil-x.vendo.run"], ...cookie] });
    await refused("an absolute-form target naming another deployment", { host: "acme-crm.vendo.run", path: "http://evil-x.vendo.run/inbox", headers: cookie });
    await refused("no Host", { headers: cookie });
  });

  test("30. the session cookie never reaches a tool", () => {
    const all = tools.flatMap((t) => t.records.map((r) => [t.name, r]));
    assert.ok(all.length >= 15, `only ${all.length} requests reached the tools`);
    for (const [name, record] of all) {
      assert.ok(!mentionsSession(record.headers), `${name} received the session cookie at ${record.url}`);
      for (const [, v] of record.headers) {
        for (const t of minted) assert.ok(!v.includes(t.split(".")[3]), `${name} received a session token's MAC at ${record.url}`);
      }
    }
  });
});

describe("a Worker configured without an attestation secret", () => {
  const key = { kid: "k1", key: bytesToHex(seq(0x90, 32)) };
  const identity = { tenant_id: "t_acme", deployment_id: "d_acme_crm", user_id: "u_ada", email: "ada@acme.example" };
  let proxy, tool;
  before(async () => {
    tool = await startTool({ name: "acme-crm", deploymentId: "d_acme_crm", keys: [], now: () => NOW, requireAttestation: false });
    proxy = await startProxy({
      apex: "vendo.run",
      session_cookie: SESSION,
      session_keys: [key],
      routes: { "acme-crm": { tenant_id: "t_acme", deployment_id: "d_acme_crm", tenant_slug: "acme", deployment_slug: "crm", upstream: tool.url } },
      now: NOW,
    });
  }, { timeout: 90000 });
  after(async () => {
    await proxy?.stop();
    await tool?.close();
  });

  test("forwards the verified identity, no attestation, and still no forged one", async () => {
    const token = await mintSession({ ...identity, iat: NOW - 60, exp: NOW + 3600 }, key);
    const forged = [["Cookie", `${SESSION}=${token}`], ["X-Vendo-Attestation", `v1.a1.${NOW}.${b64uEncode(new Uint8Array(32))}`], ["x_vendo_user_id", "u_admin"]];
    const { res, record } = await reachesToolOnce(tool, () => send(proxy.port, { host: "acme-crm.vendo.run", path: "/inbox", headers: forged }));
    assert.equal(res.status, 200);
    assert.deepEqual(record.attestation, { ok: false, code: "missing" });
    assert.deepEqual(
      namespaceOf(record).sort(),
      [["x-vendo-deployment-id", "d_acme_crm"], ["x-vendo-tenant-id", "t_acme"], ["x-vendo-user-email", "ada@acme.example"], ["x-vendo-user-id", "u_ada"]],
    );
    assert.ok(!mentionsSession(record.headers));
  });
});

// ---------------------------------------------------------------- 3. the vectors, over HTTP

/** A vector's session policy, which its Worker is configured with. */
const policyOf = (v) => ({ leeway_s: v.leeway_s ?? 60, max_lifetime_s: v.max_lifetime_s ?? 604800 });
/** At most this many vectors may be skipped; the test lists them by name. */
const MAX_SKIPPED = 2;

/**
 * Why a vector cannot be replayed as an HTTP/1.1 request through node:http,
 * or null when it can. The rules look at the vector only, so the list is
 * stable.
 */
function skipReason(v) {
  const method = v.method ?? "GET";
  for (const [n, value] of v.headers) {
    try {
      http.validateHeaderName(n);
      http.validateHeaderValue(n, value);
    } catch {
      return `node:http refuses the header ${JSON.stringify(n)}`;
    }
    if (n.toLowerCase() === "host") return "a second Host field cannot be sent beside the request's host";
  }
  if (method !== method.toUpperCase()) return `node:http upper-cases the method ${JSON.stringify(method)}`;
  if (/[^\x21-\x7e]/.test(v.host)) return "the host has characters outside visible ASCII";
  return null;
}

/** A session key under 32 bytes: the runner answers bad_request; the Worker must refuse to start. */
const refusesConfig = (v) => Object.values(v.keys).some((k) => !/^([0-9a-fA-F]{2}){32,}$/.test(k));

/** The route key a host would have if it parsed: the labels left of the apex (to plant routes under refused hosts). */
function naiveKey(host, apex) {
  const h = host.toLowerCase().replace(/:\d+$/, "").replace(/\.$/, "");
  return h.endsWith(`.${apex}`) ? h.slice(0, -apex.length - 1) : null;
}

const trimOws = (s) => s.replace(/^[ \t]+|[ \t]+$/g, "");

/**
 * SPEC §3 step 3 and §4's lookup over one Cookie value: the session
 * tokens found by exact name, and the value forwarded (null: dropped).
 */
function splitSessionCookie(value, name) {
  const tokens = [];
  const kept = [];
  let lost = false;
  for (const raw of value.split(";")) {
    const pair = trimOws(raw);
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const n = eq < 0 ? pair : trimOws(pair.slice(0, eq));
    const val = eq < 0 ? "" : trimOws(pair.slice(eq + 1));
    if (n === name) tokens.push(val);
    if (n === name || n.toLowerCase().includes(name.toLowerCase()) || val.toLowerCase().includes(name.toLowerCase())) lost = true;
    else kept.push(pair);
  }
  return { tokens, forwarded: !lost ? value : kept.length ? kept.join("; ") : null };
}

/** Codes decided before the session cookie is read (SPEC §5 `forward` order). */
const BEFORE_SESSION = new Set(["invalid_host", "not_under_apex", "apex", "too_deep", "invalid_label", "reserved", "not_found", "route_mismatch", "cross_site_request"]);

/**
 * The Workers runtime hands a Worker its request headers as a Fetch
 * `Headers`, which combines repeated fields into one value joined by ", ".
 * A vector with several Cookie fields therefore reaches the Worker as one
 * field; this is its expectation recomputed over that one field (null when
 * the vector has at most one Cookie field). The other repeated fields in
 * the vectors (Connection, Sec-Fetch-*, Origin) keep their outcome when
 * combined, and are replayed against the vectors' own expectation.
 */
async function combinedCookieExpectation(v, sessionCookie) {
  const values = v.headers.filter(([n]) => n.toLowerCase() === "cookie").map(([, c]) => trimOws(c));
  if (values.length < 2) return null;
  if (v.expect.error && BEFORE_SESSION.has(v.expect.error)) return v.expect;
  const combined = values.join(", ");
  const { tokens, forwarded } = splitSessionCookie(combined, sessionCookie);
  if (tokens.length === 0) return { error: "no_session" };
  if (tokens.length > 1) return { error: "duplicate_session" };
  const verified = await verifySession(tokens[0], v.keys, {
    now: v.now,
    leeway: policyOf(v).leeway_s,
    maxLifetime: policyOf(v).max_lifetime_s,
    tenantId: v.route.tenant_id,
    deploymentId: v.route.deployment_id,
  });
  if (!verified.ok) return { error: verified.code };
  const c = verified.claims;
  return {
    ok: {
      headers: [
        ...(forwarded === null ? [] : [["cookie", forwarded]]),
        ["x-vendo-tenant-id", c.tenant_id],
        ["x-vendo-deployment-id", c.deployment_id],
        ["x-vendo-user-id", c.user_id],
        ["x-vendo-user-email", c.email],
      ],
    },
  };
}

describe("conformance vectors replayed over HTTP", () => {
  const attestSecret = seq(0x70, 32);
  const forward = [...readVectors("forward.jsonl"), ...readVectors("cross_site.jsonl")].filter((v) => v.op === "forward");
  const responses = readVectors("filter_response.jsonl").filter((v) => v.op === "filter_response");
  const skipped = [];
  const combined = [];
  const refused = [];
  const groups = new Map();
  const groupFor = (cfg) => {
    const key = JSON.stringify([cfg.apex, cfg.session_cookie, Object.entries(cfg.keys), cfg.now, cfg.leeway_s, cfg.max_lifetime_s]);
    if (!groups.has(key)) groups.set(key, { ...cfg, vectors: [], responses: [] });
    return groups.get(key);
  };
  for (const v of forward) {
    const why = skipReason(v);
    if (why) skipped.push(`${v.id} (${v.why}): ${why}`);
    else if (refusesConfig(v)) refused.push(v);
    else groupFor({ apex: v.apex ?? "vendo.run", session_cookie: v.session_cookie ?? SESSION, keys: v.keys, now: v.now, ...policyOf(v) }).vectors.push(v);
  }
  // Response vectors run in a group with the same session cookie name (the
  // first forward vector's keys and time otherwise).
  const base = forward[0];
  for (const v of responses) {
    const cookie = v.session_cookie ?? SESSION;
    const g = [...groups.values()].find((g) => g.session_cookie === cookie && g.apex === "vendo.run") ?? groupFor({ apex: "vendo.run", session_cookie: cookie, keys: base.keys, now: base.now, ...policyOf(base) });
    g.responses.push(v);
  }

  before(async () => {
    // Start every group's proxy and tool, a few at a time.
    const list = [...groups.values()];
    const start = async (g) => {
      g.tools = new Map();
      g.tool = async (deploymentId) => {
        if (!g.tools.has(deploymentId)) {
          g.tools.set(deploymentId, await startTool({ name: deploymentId, deploymentId, keys: [{ kid: "a1", key: await deriveDeploymentKey(attestSecret, deploymentId) }], now: () => g.now }));
        }
        return g.tools.get(deploymentId);
      };
      await g.tool("d_1");
      g.proxy = await startProxy({
        apex: g.apex,
        session_cookie: g.session_cookie,
        session_keys: Object.entries(g.keys).map(([kid, key]) => ({ kid, key })),
        attestation: { kid: "a1", secret: bytesToHex(attestSecret) },
        leeway_secs: g.leeway_s,
        max_lifetime_secs: g.max_lifetime_s,
        routes: {},
        now: g.now,
      });
    };
    const queue = [...list];
    await Promise.all([0, 1, 2].map(async () => {
      while (queue.length) await start(queue.shift());
    }));
  }, { timeout: 120000 });

  after(async () => {
    for (const g of groups.values()) {
      await g.proxy?.stop();
      for (const t of g.tools?.values() ?? []) await t.close();
    }
  });

  for (const v of refused) {
    test(`${v.id}: ${v.why}: serve.mjs refuses the configuration`, async () => {
      const config = { apex: v.apex ?? "vendo.run", session_cookie: v.session_cookie ?? SESSION, session_keys: Object.entries(v.keys).map(([kid, key]) => ({ kid, key })), routes: {}, now: v.now };
      await assert.rejects(startProxy(config), /serve\.mjs exited \(code [1-9]/);
    });
  }

  for (const g of groups.values()) {
    for (const v of g.vectors) {
      test(`${v.id}: ${v.why}`, async () => {
        const tool = await g.tool(v.route?.deployment_id ?? "d_1");
        const all = [...g.tools.values()];
        const planted = [];
        const reply = await g.proxy.command({ op: "put_host", host: v.host, entry: v.route ? { ...v.route, upstream: tool.url } : null });
        if (!reply.ok) {
          assert.ok(v.expect.error, `put_host refused ${v.host} (${reply.code}) but the vector expects ${JSON.stringify(v.expect)}`);
          const key = naiveKey(v.host, g.apex);
          if (v.route && key) {
            // A route stored under the key anyway: the host must still be refused.
            assert.deepEqual(await g.proxy.command({ op: "put", key, entry: { ...v.route, upstream: tool.url } }), { ok: true });
            planted.push(key);
          }
        }
        try {
          const request = { method: v.method ?? "GET", host: v.host, path: `/vector/${v.id}?via=proxy`, headers: v.headers };
          let expect = v.expect;
          const recomputed = await combinedCookieExpectation(v, g.session_cookie);
          if (recomputed !== null) {
            combined.push(`${v.id} (${v.why}): expects ${JSON.stringify(recomputed.error ?? "ok")} instead of ${JSON.stringify(v.expect.error ?? "ok")}`);
            expect = recomputed;
          }
          if (expect.error) {
            const res = await reachesNoTool(all, () => send(g.proxy.port, request));
            assertDenied(res, expect.error);
            return;
          }
          const { res, record } = await reachesToolOnce(tool, () => send(g.proxy.port, request));
          assert.equal(res.status, 200, `tool answered ${res.text}`);
          const expected = expect.ok.headers;
          const identity = Object.fromEntries(expected.filter(([n]) => n.startsWith("x-vendo-")));
          assertAttested(
            record,
            tool,
            { tenant_id: identity["x-vendo-tenant-id"], deployment_id: identity["x-vendo-deployment-id"], user_id: identity["x-vendo-user-id"], email: identity["x-vendo-user-email"] },
            { method: request.method, url: request.path, ts: g.now, session: g.session_cookie },
          );
          const cookies = (list) => list.filter(([n]) => n.toLowerCase() === "cookie").map(([, c]) => c);
          assert.deepEqual(cookies(record.headers), cookies(expected), "the Cookie the tool received");
        } finally {
          for (const key of planted) await g.proxy.command({ op: "delete", key });
        }
      });
    }

    for (const v of g.responses) {
      test(`${v.id}: a tool answers ${JSON.stringify(v.headers).slice(0, 80)}`, async () => {
        const tool = await g.tool("d_1");
        const route = { tenant_id: "t_1", deployment_id: "d_1", tenant_slug: "acme", deployment_slug: "crm", upstream: tool.url };
        assert.deepEqual(await g.proxy.command({ op: "put_host", host: "acme-crm.vendo.run", entry: route }), { ok: true, key: "acme-crm" });
        const [kid, key] = Object.entries(g.keys)[0];
        const token = await mintSession({ tenant_id: "t_1", deployment_id: "d_1", user_id: "u_1", email: "a@b.io", iat: g.now - 60, exp: g.now + 3600 }, { kid, key });
        const path = `/respond/${b64uEncode(new TextEncoder().encode(JSON.stringify(v.headers)))}`;
        const { res } = await reachesToolOnce(tool, () => send(g.proxy.port, { host: "acme-crm.vendo.run", path, headers: [["Cookie", `${g.session_cookie}=${token}`]] }));
        assert.equal(res.status, 200, res.text);
        const ows = (s) => s.replace(/^[ \t]+|[ \t]+$/g, "");
        const kept = v.expect.ok.headers.map(([n, val]) => [n.toLowerCase(), ows(val)]);
        assert.deepEqual(res.all("set-cookie"), kept.filter(([n]) => n === "set-cookie").map(([, val]) => val), "the Set-Cookie fields the browser gets, in order");
        for (const name of new Set(kept.map(([n]) => n).filter((n) => n !== "set-cookie"))) {
          assert.equal(res.get(name), kept.filter(([n]) => n === name).map(([, val]) => val).join(", "), name);
        }
        for (const [n] of v.headers) {
          const name = n.toLowerCase();
          if (!kept.some(([k]) => k === name)) assert.deepEqual(res.all(name), [], `${n} reached the browser`);
        }
        assert.deepEqual(res.headers.filter(([n]) => inNamespace(n) || n === "set-cookie2"), []);
      });
    }
  }

  test(`the vectors not replayed as written are named, and at most ${MAX_SKIPPED} are skipped`, (t) => {
    for (const s of skipped) t.diagnostic(`skipped ${s}`);
    for (const s of combined) t.diagnostic(`replayed with its Cookie fields combined by the runtime: ${s}`);
    for (const v of refused) t.diagnostic(`replayed as a configuration serve.mjs refuses: ${v.id} (${v.why})`);
    t.diagnostic(`${forward.length} forward vectors: ${forward.length - skipped.length - refused.length} replayed over HTTP, ${refused.length} as a refused configuration, ${skipped.length} skipped; ${responses.length} response vectors; ${groups.size} configurations`);
    assert.ok(skipped.length <= MAX_SKIPPED, `${skipped.length} skipped:\n${skipped.join("\n")}`);
    assert.ok(combined.length <= 2, `${combined.length} vectors depend on repeated Cookie fields`);
  });
});
