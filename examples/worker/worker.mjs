// The reference app proxy: a Cloudflare Worker in front of every tenant's
// deployment hosts (`{tenant}-{deployment}.{apex}`), doing the platform's
// hot path with vendo-isolation:
//
//   route key (from the URL's host, as the edge routes)
//   → the route entry in KV `ROUTES` (JSON: tenant and deployment ids,
//     slugs, and the deployment's upstream origin)
//   → admit: SPEC §2 route checks, §3.2 cross-site rule, §4 session,
//     §3 strip and inject, §3.1 attestation over the forwarded request
//   → fetch the upstream with the forwarded headers, method and body
//   → SPEC §3.3 on the response headers, and the response streamed back.
//
// Anything refused is a plain-text answer: the status and the SPEC code.
//
// Bindings: `ROUTES` (KV), `VENDO_CONFIG` (a secret: the JSON of
// vendo.d.ts's VendoConfig). `VENDO_TEST_FIXED_NOW` fixes the clock for
// replaying test vectors; never set it in a deployment.

import wasm from "./vendo_worker.wasm";
import { Vendo } from "./vendo.mjs";

let vendo = null;

/** The gate, configured once per isolate. */
function gate(env) {
  if (vendo === null) vendo = new Vendo(wasm, JSON.parse(env.VENDO_CONFIG));
  return vendo;
}

function plain(status, code) {
  return new Response(`${code}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

/** The stored route, or null when the key holds none; throws on a corrupt entry. */
async function lookup(env, key) {
  const stored = await env.ROUTES.get(key);
  if (stored === null) return null;
  const route = JSON.parse(stored);
  const upstream = new URL(route.upstream);
  if (upstream.protocol !== "http:" && upstream.protocol !== "https:") throw new Error(`route ${key}: upstream is not http(s)`);
  const entry = {
    tenant_id: route.tenant_id,
    deployment_id: route.deployment_id,
    tenant_slug: route.tenant_slug,
    deployment_slug: route.deployment_slug,
  };
  return { entry, upstream: upstream.origin };
}

export default {
  async fetch(request, env) {
    let v;
    try {
      v = gate(env);
    } catch (e) {
      console.error(`vendo: configuration refused: ${e.message}`);
      return plain(500, "misconfigured");
    }
    const now = env.VENDO_TEST_FIXED_NOW ? Number(env.VENDO_TEST_FIXED_NOW) : Math.floor(Date.now() / 1000);

    const key = v.routeKey(request);
    if (!key.ok) return plain(key.status, key.code);
    let route;
    try {
      route = await lookup(env, key.key);
    } catch (e) {
      console.error(`vendo: ${e.message}`);
      return plain(500, "bad_route");
    }

    const admitted = v.admit(request, route?.entry ?? null, now, route ? { upstream: route.upstream } : undefined);
    if (admitted.spoofed?.length) console.warn(`vendo: spoofed ${admitted.spoofed.join(", ")} on ${key.key}`);
    if (!admitted.ok) return plain(admitted.status, admitted.code);

    let upstream;
    try {
      upstream = await fetch(admitted.upstreamUrl, {
        method: request.method,
        headers: admitted.headers,
        body: request.body,
        redirect: "manual",
      });
    } catch (e) {
      console.error(`vendo: upstream of ${key.key}: ${e.message}`);
      return plain(502, "upstream_unreachable");
    }

    const filtered = v.filterResponse(upstream.headers);
    if (filtered.tampering) console.warn(`vendo: ${key.key} tried ${filtered.removed.join(", ")}`);
    const headers = filtered.headers;
    if (admitted.setCookie) headers.append("set-cookie", admitted.setCookie);
    return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers });
  },
};
