// What the admit step costs inside a Cloudflare Worker, measured in workerd
// (miniflare), beside a plain JavaScript implementation and the runtime's
// floor:
//
//   vendo  `Vendo.admit` (vendo.mjs over vendo_worker.wasm), then reading
//          `.headers` (the forwarded Headers), valid session, attestation on;
//   js     bench/js_checks.mjs: the same checks over WebCrypto, written from
//          SPEC.md the way a Worker author would;
//   floor  reading the request's Headers and applying the same deletes and
//          sets to a copy, with no checks.
//
//   node examples/worker/bench.mjs [--iterations N] [--repeats N] [--chunk N] [--wasm PATH]
//   node --experimental-websocket examples/worker/bench.mjs --profile PATH
//
// `--profile PATH` times nothing: it runs the vendo loop inside workerd
// under V8's sampling profiler (through miniflare's inspector port), writes
// the profile to PATH (open it in Chrome DevTools) and prints the functions
// with the most self time. Build the module with
// `CARGO_PROFILE_RELEASE_STRIP=false` to see the wasm functions' names.
// It needs a global WebSocket (Node 22, or Node 20 with the flag above).
//
// Build the module first:
//   cd examples/worker && cargo build --release --target wasm32-unknown-unknown
//
// How it measures. On Cloudflare's edge the clock does not advance during
// synchronous execution (a Spectre mitigation), but the workerd that
// miniflare runs locally lets Date.now() and performance.now() advance in a
// loop, at 1 ms resolution; /probe checks that in this workerd before any
// timing. When it advances, the loops are timed inside the isolate with
// performance.now() around each loop, so nothing of the dispatch is counted.
// A repeat runs 30,000 iterations (--iterations) of each variant on the one
// benchmark request, as interleaved loops of 1,000 (--chunk) in rotating
// order, and a variant's time is the sum of its loops: the machine's slow
// and fast stretches (a shared VM can swing the same loop by 2x over a few
// seconds) then fall on every variant alike, and a loop of 1,000 lasts
// 10-100 ms, so the 1 ms clock step averages out over its 30 loops.
// `--chunk` equal to `--iterations` gives one loop per variant instead.
// When the clock does not advance, each variant's 30,000 iterations run as
// one loop in its own dispatchFetch, timed from Node, minus a dispatch of
// as many empty iterations in the same repeat. One warm-up repeat of 5,000
// iterations comes first; the table gives the median of three repeats
// (--repeats).
//
// Before any timing, js and vendo must forward the same headers (identity,
// cookie, attestation, host and the rest) for the benchmark request, for a
// spoofed one and for one whose target ends in a bare `?`, and both must
// refuse a forged token, an expired one and a cross-site POST with the same
// code. A mismatch exits 1; speed never changes the exit status (2 is a
// usage error or a missing build).

import { createHmac } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { Miniflare } from "miniflare";

const here = dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const out = { iterations: 30000, repeats: 3, chunk: 1000, wasm: join(here, "target/wasm32-unknown-unknown/release/vendo_worker.wasm") };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (arg === "--iterations" || arg === "--repeats" || arg === "--chunk") {
      const n = Number(value);
      if (!Number.isSafeInteger(n) || n < 1) usage(`${arg} takes a positive integer`);
      out[arg.slice(2)] = n;
      i++;
    } else if (arg === "--wasm" || arg === "--profile") {
      if (value === undefined) usage(`${arg} takes a path`);
      out[arg.slice(2)] = value;
      i++;
    } else usage(`unknown argument ${arg}`);
  }
  return out;
}

function usage(message) {
  console.error(`${message}\nusage: node bench.mjs [--iterations N] [--repeats N] [--chunk N] [--wasm PATH] [--profile PATH]`);
  process.exit(2);
}

// ------------------------------------------------------------ fixtures

const hex = (bytes) => Buffer.from(bytes).toString("hex");
const b64u = (buf) => Buffer.from(buf).toString("base64url");

const SESSION_KEY = hex(Array.from({ length: 32 }, (_, i) => (i * 7 + 3) & 0xff));
const ATTACKER_KEY = hex(Array.from({ length: 32 }, (_, i) => (i * 11 + 5) & 0xff));
const ATTESTATION_SECRET = hex(Array.from({ length: 32 }, (_, i) => (i * 13 + 1) & 0xff));
const COOKIE = "__Host-vendo_session";

const config = {
  apex: "vendo.run",
  session_cookie: COOKIE,
  session_keys: [{ kid: "k1", key: SESSION_KEY }],
  attestation: { kid: "a1", secret: ATTESTATION_SECRET },
};
const entry = { tenant_id: "t_acme", deployment_id: "d_crm", tenant_slug: "acme", deployment_slug: "crm" };
const identity = { tenant_id: "t_acme", deployment_id: "d_crm", user_id: "u_1842", email: "ada@acme-corp.example" };

// SPEC §4 v1 token.
function mint(claims, kid, keyHex) {
  const text = [claims.tenant_id, claims.deployment_id, claims.user_id, claims.email, claims.iat, claims.exp].join("\n");
  const payload = b64u(Buffer.from(text, "utf8"));
  const mac = createHmac("sha256", Buffer.from(keyHex, "hex")).update(`vendo-session-v1\0v1.${kid}.${payload}`).digest();
  return `v1.${kid}.${payload}.${b64u(mac)}`;
}

const now = Math.floor(Date.now() / 1000);
const iat = now - 600;
const exp = now + 8 * 3600;
const token = mint({ ...identity, iat, exp }, "k1", SESSION_KEY);
const forgedToken = mint({ ...identity, user_id: "u_1", iat, exp }, "k1", ATTACKER_KEY);

const URL_ = "https://acme-crm.vendo.run/inbox?page=2&sort=recent";
const UPSTREAM = "http://127.0.0.1:9001";
const OTHER_COOKIES = ["theme=dark", "_ga=GA1.1.1874635902.1764691200", "csrftoken=Yq3Z8cL1vR0pW7nK2mT5xH9sD4fB6gJa"];
const cookieWith = (session, extra = []) =>
  [OTHER_COOKIES[0], `${COOKIE}=${session}`, ...OTHER_COOKIES.slice(1), ...extra].join("; ");

// A top-level same-origin navigation from Chrome, as a Worker receives it.
const headersWith = (cookie) => [
  ["host", "acme-crm.vendo.run"],
  ["user-agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"],
  ["accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"],
  ["accept-language", "en-US,en;q=0.9,de;q=0.8"],
  ["accept-encoding", "gzip, deflate, br, zstd"],
  ["cookie", cookie],
  ["sec-fetch-site", "same-origin"],
  ["sec-fetch-mode", "navigate"],
  ["sec-fetch-dest", "document"],
  ["sec-fetch-user", "?1"],
  ["sec-ch-ua", '"Chromium";v="156", "Google Chrome";v="156", "Not-A.Brand";v="99"'],
  ["sec-ch-ua-mobile", "?0"],
  ["sec-ch-ua-platform", '"macOS"'],
  ["upgrade-insecure-requests", "1"],
  ["cache-control", "max-age=0"],
  ["priority", "u=0, i"],
  ["referer", "https://acme-crm.vendo.run/inbox"],
  ["if-none-match", 'W/"5f3a-19ad2c4e8b0"'],
  ["cf-connecting-ip", "203.0.113.7"],
  ["x-forwarded-proto", "https"],
];
const benchHeaders = headersWith(cookieWith(token));

const spoofedHeaders = [
  ...headersWith(cookieWith(token, ["tracker=1 __Host-vendo_session=forged"])),
  ["x-vendo-user-id", "u_1"],
  ["X_Vendo_Tenant_Id", "t_victim"],
  ["x.vendo.user.email", "root@vendo.run"],
  ["connection", "keep-alive, X-Vendo-User-Id"],
];
const forgedHeaders = headersWith(cookieWith(forgedToken));
const foreignHeaders = headersWith(cookieWith(token)).map(([n, v]) =>
  n === "sec-fetch-site" ? [n, "same-site"] : n === "sec-fetch-mode" ? [n, "cors"] : n === "sec-fetch-dest" ? [n, "empty"] : [n, v],
).concat([["origin", "https://evil-x.vendo.run"]]);

// ------------------------------------------------------------ checks

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function verify(report) {
  const problems = [];
  const fail = (what, detail) => problems.push(`${what}${detail === undefined ? "" : `\n    ${JSON.stringify(detail)}`}`);
  const { spec_attestation, cases } = report;
  if (spec_attestation.got !== spec_attestation.want) fail("js: SPEC §3.1 worked example", spec_attestation);

  const { vendo, js } = cases.valid;
  if (!vendo.ok) fail("vendo refused the benchmark request", vendo);
  if (!js.ok) fail("js refused the benchmark request", js);
  if (vendo.ok && js.ok) {
    if (!same(vendo.headers, js.headers)) fail("vendo and js forward different headers", { vendo: vendo.headers, js: js.headers });
    if (!same(vendo.session, identity)) fail("vendo's session", vendo.session);
    if (!same(js.session, identity)) fail("js's session", js.session);
    const want = {
      "x-vendo-tenant-id": identity.tenant_id,
      "x-vendo-deployment-id": identity.deployment_id,
      "x-vendo-user-id": identity.user_id,
      "x-vendo-user-email": identity.email,
      cookie: OTHER_COOKIES.join("; "),
      host: new URL(UPSTREAM).host,
    };
    for (const [name, impl] of [["vendo", vendo], ["js", js]]) {
      const got = new Map(impl.headers);
      for (const [k, v] of Object.entries(want)) if (got.get(k) !== v) fail(`${name}: forwarded ${k}`, got.get(k) ?? null);
      if (!(got.get("x-vendo-attestation") ?? "").startsWith(`v1.a1.${now}.`)) fail(`${name}: attestation`, got.get("x-vendo-attestation") ?? null);
      const namespace = [...got.keys()].filter((k) => k.startsWith("x-vendo-"));
      if (namespace.length !== 5) fail(`${name}: x-vendo- headers`, namespace);
    }
    if (!same(report.floor, js.headers)) fail("floor does not forward what js forwards", report.floor);
  }

  // The spoofed request differs from the benchmark one only in what must be
  // stripped, and in its `Connection: keep-alive`.
  const s = cases.spoofed;
  if (!s.vendo.ok || !s.js.ok) fail("spoofed request refused", s);
  else {
    for (const [name, spoofed, valid] of [["vendo", s.vendo, vendo], ["js", s.js, js]]) {
      if (!valid.ok) continue;
      const expected = [...valid.headers, ["connection", "keep-alive"]].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      if (!same(spoofed.headers, expected)) fail(`${name}: spoofed request not stripped to the benchmark request`, spoofed.headers);
    }
    if (!same(s.vendo.headers, s.js.headers)) fail("vendo and js strip a spoofed request differently", s);
  }

  // The attestation covers the target as sent, bare `?` included.
  const q = cases.bare_query;
  if (!q.vendo.ok || !q.js.ok) fail("bare_query: refused", q);
  else if (!same(q.vendo.headers, q.js.headers)) fail("bare_query: vendo and js forward different headers", q);

  for (const [name, code] of [["forged", "bad_signature"], ["expired", "expired"], ["foreign_post", "cross_site_request"]]) {
    const c = cases[name];
    if (c.vendo.ok || c.js.ok) fail(`${name}: admitted`, c);
    else if (c.vendo.code !== code || c.js.code !== code || c.vendo.status !== c.js.status) fail(`${name}: want ${code} from both`, c);
  }
  return problems;
}

// ------------------------------------------------------------ profile

async function freePort() {
  const { createServer } = await import("node:net");
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The vendo loop under V8's sampling profiler, through workerd's inspector. */
async function profile(get) {
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json();
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  const pending = new Map();
  let id = 0;
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  };
  const cdp = (method, params = {}) =>
    new Promise((resolve) => {
      pending.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  const n = args.iterations;
  await get(`/repeat?variants=vendo&n=${Math.min(n, 5000)}&chunk=${args.chunk}`);
  await cdp("Profiler.enable");
  await cdp("Profiler.setSamplingInterval", { interval: 50 });
  await cdp("Profiler.start");
  await get(`/repeat?variants=vendo&n=${n}&chunk=${args.chunk}`);
  const { result } = await cdp("Profiler.stop");
  ws.close();
  writeFileSync(args.profile, JSON.stringify(result.profile));
  const { nodes, samples, timeDeltas } = result.profile;
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const self = new Map();
  const byFile = new Map();
  let total = 0;
  samples.forEach((sample, i) => {
    const frame = byId.get(sample).callFrame;
    const file = frame.url.includes(".wasm") ? "the wasm module" : frame.url ? frame.url.split("/").pop() : "the runtime (Headers, GC, builtins)";
    byFile.set(file, (byFile.get(file) ?? 0) + (timeDeltas[i] ?? 0));
    const name = frame.functionName || "(anonymous)";
    const where = frame.url ? ` (${frame.url.split("/").pop()}${frame.url.endsWith(".mjs") ? `:${frame.lineNumber + 1}` : ""})` : "";
    const dt = timeDeltas[i] ?? 0;
    self.set(name + where, (self.get(name + where) ?? 0) + dt);
    total += dt;
  });
  console.log(`# vendo loop in workerd, ${n} admits: self time by function (profile in ${args.profile})\n`);
  const share = (t) => `${((100 * t) / total).toFixed(1).padStart(5)}%`;
  for (const [name, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${share(t)}  ${name}`);
  console.log("\nby where the code is:");
  for (const [file, t] of [...byFile].sort((a, b) => b[1] - a[1])) console.log(`${share(t)}  ${file}`);
}

// ------------------------------------------------------------ run

const args = parseArgs(process.argv.slice(2));
if (!existsSync(args.wasm)) {
  console.error(`${args.wasm} not found; build it first:\n  cd examples/worker && cargo build --release --target wasm32-unknown-unknown`);
  process.exit(2);
}
if (args.profile !== undefined && typeof WebSocket !== "function") {
  console.error("--profile needs a global WebSocket: run with node --experimental-websocket (Node 20) or Node 22+");
  process.exit(2);
}
const wasmBytes = readFileSync(args.wasm);
const inspectorPort = args.profile === undefined ? undefined : await freePort();
const modulePath = (name) => join(here, name);

const mf = new Miniflare({
  modules: [
    { type: "ESModule", path: modulePath("bench/worker.mjs"), contents: readFileSync(modulePath("bench/worker.mjs"), "utf8") },
    { type: "ESModule", path: modulePath("bench/js_checks.mjs"), contents: readFileSync(modulePath("bench/js_checks.mjs"), "utf8") },
    { type: "ESModule", path: modulePath("vendo.mjs"), contents: readFileSync(modulePath("vendo.mjs"), "utf8") },
    { type: "CompiledWasm", path: modulePath("vendo_worker.wasm"), contents: wasmBytes },
  ],
  modulesRoot: here,
  compatibilityDate: "2026-04-01",
  ...(inspectorPort === undefined ? {} : { inspectorPort }),
  host: "127.0.0.1",
  port: 0,
  bindings: {
    BENCH: {
      config,
      entry,
      now,
      expired_now: exp + 60,
      url: URL_,
      bare_query_url: "https://acme-crm.vendo.run/inbox?",
      upstream: UPSTREAM,
      headers: benchHeaders,
      spoofed_headers: spoofedHeaders,
      forged_headers: forgedHeaders,
      foreign_headers: foreignHeaders,
    },
  },
});

let exitCode = 0;
try {
  const base = await mf.ready;
  const get = async (path) => {
    const t0 = performance.now();
    const res = await mf.dispatchFetch(new URL(path, base));
    const body = await res.json();
    const wall = performance.now() - t0;
    if (res.status !== 200 || body.error) throw new Error(`${path}: ${res.status} ${body.error ?? JSON.stringify(body)}`);
    return { body, wall };
  };

  const problems = verify((await get("/check")).body);
  if (problems.length === 0 && args.profile !== undefined) {
    await profile(get);
  } else if (problems.length > 0) {
    console.error(`correctness mismatch, not timing:\n  - ${problems.join("\n  - ")}`);
    exitCode = 1;
  } else {
    const clock = (await get("/probe")).body;
    const inIsolate = clock.advances;
    const n = args.iterations;
    const variants = ["vendo", "js", "floor"];
    const repeat = async (names, iterations, chunk) => {
      const { body, wall } = await get(`/repeat?variants=${names.join(",")}&n=${iterations}&chunk=${chunk}`);
      for (const v of names) if (body.refused[v] !== 0) throw new Error(`${v}: ${body.refused[v]} of ${iterations} admits refused`);
      return { inside: body.ms, wall };
    };
    const warmup = Math.min(n, 5000);
    await repeat([...variants, "empty"], warmup, Math.min(args.chunk, warmup));

    const perRequest = Object.fromEntries(variants.map((v) => [v, []]));
    for (let r = 0; r < args.repeats; r++) {
      const order = variants.map((_, k) => variants[(k + r) % variants.length]);
      if (inIsolate) {
        const { inside } = await repeat(order, n, args.chunk);
        for (const v of variants) perRequest[v].push((inside[v] * 1000) / n);
      } else {
        const baseline = (await repeat(["empty"], n, n)).wall;
        for (const v of order) perRequest[v].push((((await repeat([v], n, n)).wall - baseline) * 1000) / n);
      }
    }

    const median = (xs) => {
      const s = [...xs].sort((a, b) => a - b);
      const m = s.length >> 1;
      return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
    };
    const med = Object.fromEntries(variants.map((v) => [v, median(perRequest[v])]));
    const f = (x, d = 2) => x.toFixed(d);
    const cpus = os.cpus();
    const mfPackage = JSON.parse(readFileSync(new URL("../../package.json", import.meta.resolve("miniflare")), "utf8"));
    const requestBytes = benchHeaders.reduce((sum, [name, value]) => sum + name.length + value.length + 4, 0);

    console.log(`# vendo-isolation admit in workerd (miniflare ${mfPackage.version})\n`);
    console.log(`machine: ${cpus[0]?.model ?? "unknown"}, ${cpus.length} cores; node ${process.version}, ${os.platform()} ${os.arch()}`);
    console.log(`wasm: ${args.wasm.startsWith(here) ? args.wasm.slice(here.length + 1) : args.wasm}: ${wasmBytes.length} bytes, ${gzipSync(wasmBytes).length} gzip`);
    console.log(`request: GET ${URL_} forwarded to ${UPSTREAM}, ${benchHeaders.length} headers, ${requestBytes} bytes of header lines`);
    console.log(
      `timing: ${n} iterations x ${args.repeats} repeats per variant, ` +
        (inIsolate
          ? `in the isolate, interleaved loops of ${Math.min(args.chunk, n)} (performance.now() advances in a loop here, step ${clock.step_ms} ms)`
          : "one loop per dispatchFetch timed from Node, minus an empty loop (the isolate's clock stands still)"),
    );
    console.log("");
    console.log("| variant | median µs/request | repeats (µs) | ratio to js | minus floor (µs) |");
    console.log("|---|---:|---|---:|---:|");
    for (const v of variants) {
      console.log(`| ${v} | ${f(med[v])} | ${perRequest[v].map((x) => f(x)).join(", ")} | ${f(med[v] / med.js)} | ${f(med[v] - med.floor)} |`);
    }
    console.log("");
    console.log(`vendo - floor (the crate's own part, with vendo.mjs's marshalling): ${f(med.vendo - med.floor)} µs/request`);
  }
} finally {
  await mf.dispose();
}
process.exit(exitCode);
