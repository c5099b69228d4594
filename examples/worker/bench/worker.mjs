// The Worker that bench.mjs loads into miniflare (workerd). It holds the
// three variants and runs their loops inside the isolate:
//
//   GET /probe   does the clock advance during synchronous execution?
//   GET /check   the correctness checks bench.mjs requires before timing
//   GET /repeat?variants=vendo,js,floor&n=N&chunk=C
//                N admits of the benchmark request per variant, in
//                interleaved loops of C, each loop timed in the isolate
//
// The benchmark request, keys and route entry come from bench.mjs in the
// BENCH binding, so that the request is defined in one place.

import wasm from "../vendo_worker.wasm";
import { Vendo } from "../vendo.mjs";
import { createJsChecks } from "./js_checks.mjs";

// SPEC §3.1 worked example.
const SPEC_ATTESTATION = "v1.k2024.1700000000.UKVcKgRcZRtrc3J3nJSHgnQ_hjuSN7f2niV9AP_EcrM";

let state = null;
// Results land here so that no loop body is dead code.
let sink = null;

async function setup(env) {
  const b = env.BENCH;
  const vendo = new Vendo(wasm, b.config);
  const js = await createJsChecks(b.config);
  const request = makeRequest(b.url, b.headers);
  const options = { upstream: b.upstream };
  // The floor applies exactly the changes the checked implementations
  // make to the benchmark request, with no checks.
  const reference = await js.admit(request, b.entry, b.now, options);
  if (!reference.ok) throw new Error(`js refused the benchmark request: ${reference.code}`);
  const plan = changesBetween(request.headers, reference.headers);
  return { b, vendo, js, request, options, plan };
}

function makeRequest(url, headers, method = "GET") {
  const h = new Headers();
  for (const [name, value] of headers) h.append(name, value);
  return new Request(url, { method, headers: h });
}

function changesBetween(before, after) {
  const deletes = [];
  const sets = [];
  for (const [name] of before) if (!after.has(name)) deletes.push(name);
  for (const [name, value] of after) if (before.get(name) !== value) sets.push([name, value]);
  return { deletes, sets };
}

// What any implementation pays: read the request's headers, then copy them
// for forwarding with the deletes and sets applied.
function floor(request, plan) {
  let read = 0;
  for (const [name, value] of request.headers) read += name.length + value.length;
  const out = new Headers(request.headers);
  for (const name of plan.deletes) out.delete(name);
  for (const [name, value] of plan.sets) out.set(name, value);
  return read > 0 ? out : null;
}

const sorted = (headers) => [...headers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

function summary(result) {
  if (result.ok) return { ok: true, session: result.session, headers: sorted(result.headers) };
  return { ok: false, status: result.status, code: result.code };
}

async function check(s) {
  const { b, vendo, js, options } = s;
  const both = async (request, entry, now) => ({
    vendo: summary(vendo.admit(request, entry, now, options)),
    js: summary(await js.admit(request, entry, now, options)),
  });
  const specVector = await (
    await createJsChecks({
      session_keys: [{ kid: "k1", key: "42".repeat(32) }],
      attestation: { kid: "k2024", secret: Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, "0")).join("") },
    })
  ).attest(
    { tenant_id: "t_1", deployment_id: "d_1", user_id: "u_1", email: "a@b.io" },
    1700000000, "GET", "acme-crm.vendo.run", "/api/items?page=2",
  );
  const bench = vendo.admit(s.request, b.entry, b.now, options);
  return {
    spec_attestation: { got: specVector, want: SPEC_ATTESTATION },
    request: sorted(s.request.headers),
    vendo_reissue: bench.ok ? bench.reissue : null,
    floor: sorted(floor(s.request, s.plan)),
    cases: {
      valid: await both(s.request, b.entry, b.now),
      spoofed: await both(makeRequest(b.url, b.spoofed_headers), b.entry, b.now),
      forged: await both(makeRequest(b.url, b.forged_headers), b.entry, b.now),
      expired: await both(s.request, b.entry, b.expired_now),
      foreign_post: await both(makeRequest(b.url, b.foreign_headers, "POST"), b.entry, b.now),
      bare_query: await both(makeRequest(b.bare_query_url, b.headers), b.entry, b.now),
    },
  };
}

// One loop of `n` iterations of `variant`, timed in the isolate.
async function loop(s, variant, n) {
  const { b, vendo, js, request, options, plan } = s;
  const { entry, now } = b;
  let refused = 0;
  let t0, t1;
  switch (variant) {
    case "vendo":
      t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const r = vendo.admit(request, entry, now, options);
        if (!r.ok) refused++;
        sink = r.headers;
      }
      t1 = performance.now();
      break;
    case "js":
      t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const r = await js.admit(request, entry, now, options);
        if (!r.ok) refused++;
        sink = r.headers;
      }
      t1 = performance.now();
      break;
    case "floor":
      t0 = performance.now();
      for (let i = 0; i < n; i++) sink = floor(request, plan);
      t1 = performance.now();
      break;
    case "empty":
      t0 = performance.now();
      for (let i = 0; i < n; i++) sink = request;
      t1 = performance.now();
      break;
    default:
      throw new Error(`unknown variant ${variant}`);
  }
  return { ms: t1 - t0, refused };
}

// One repeat: `n` iterations of each variant, as interleaved loops of
// `chunk` iterations in rotating order, so that a slow stretch of the
// machine falls on every variant alike. Each variant's time is the sum of
// its loops.
async function repeat(s, variants, n, chunk) {
  const ms = Object.fromEntries(variants.map((v) => [v, 0]));
  const refused = Object.fromEntries(variants.map((v) => [v, 0]));
  for (let done = 0, round = 0; done < n; done += chunk, round++) {
    const k = Math.min(chunk, n - done);
    for (let j = 0; j < variants.length; j++) {
      const v = variants[(j + round) % variants.length];
      const r = await loop(s, v, k);
      ms[v] += r.ms;
      refused[v] += r.refused;
    }
  }
  return { ms, refused, sink: sink === null ? "null" : typeof sink };
}

// Spins until the clock moves (or gives up): on Cloudflare's edge the clock
// stands still during synchronous execution; local workerd may let it run.
function probe() {
  const start = performance.now();
  let spins = 0;
  let now = start;
  while (now === start && spins < 50_000_000) {
    now = performance.now();
    spins++;
  }
  // Resolution: the smallest step seen over a few ticks.
  let step = Infinity;
  for (let k = 0, last = now; k < 5 && now !== start; k++) {
    let t = performance.now();
    while (t === last) t = performance.now();
    step = Math.min(step, t - last);
    last = t;
  }
  return { advances: now !== start, spins, step_ms: Number.isFinite(step) ? step : null };
}

export default {
  async fetch(request, env) {
    try {
      state ??= await setup(env);
      const url = new URL(request.url);
      switch (url.pathname) {
        case "/probe":
          return Response.json(probe());
        case "/check":
          return Response.json(await check(state));
        case "/repeat": {
          const p = url.searchParams;
          return Response.json(await repeat(state, p.get("variants").split(","), Number(p.get("n")), Number(p.get("chunk"))));
        }
        default:
          return new Response("not found", { status: 404 });
      }
    } catch (e) {
      return Response.json({ error: String(e?.stack ?? e) }, { status: 500 });
    }
  },
};
