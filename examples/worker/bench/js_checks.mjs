// The proxy's admit step in plain JavaScript with WebCrypto, written from
// SPEC.md the way a Worker author would: the comparison point for the wasm
// build in bench.mjs. It implements the same decision as `Vendo.admit`
// (SPEC §5 `forward` order: host, route, route match, request site,
// session cookie, session token, then strip and inject) and returns the
// same shape: `{ ok: true, headers, session }` or `{ ok: false, status,
// code, headers }`.
//
// Session keys and the attestation secret are imported once per isolate
// (`createJsChecks`). The deployment key (SPEC §3.1) is derived on every
// request, as the crate does; a Map from deployment id to imported key
// would save one HMAC and one importKey per request.

const enc = new TextEncoder();
const utf8 = new TextDecoder("utf-8", { fatal: true });

const DEFAULT_RESERVED = [
  "www", "api", "app", "admin", "auth", "login", "static", "assets", "cdn",
  "status", "docs", "mail", "openai-proxy", "credentials", "proxy",
];
const IDENTITY = ["x-vendo-tenant-id", "x-vendo-deployment-id", "x-vendo-user-id", "x-vendo-user-email"];
const ATTESTATION = "x-vendo-attestation";
const MAX_TOKEN_LEN = 4096;
const MAX_UNIX_SECONDS = 253402300799;

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const KID = /^[A-Za-z0-9_-]{1,32}$/;
const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const INTEGER = /^(?:0|[1-9][0-9]{0,11})$/;
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
const HMAC = { name: "HMAC", hash: "SHA-256" };

class Deny {
  constructor(status, code) {
    this.status = status;
    this.code = code;
  }
}
const deny = (status, code) => {
  throw new Deny(status, code);
};

function hexBytes(hex) {
  if (typeof hex !== "string" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new TypeError("key must be hex");
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// SPEC §4: canonical base64url, no padding, unused trailing bits zero.
const B64U = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64U_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64U_VALUE[B64U.charCodeAt(i)] = i;

function b64uDecode(s) {
  const rem = s.length % 4;
  if (rem === 1) return null;
  const out = new Uint8Array(((s.length * 3) / 4) | 0);
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B64U_VALUE[c] : -1;
    if (v < 0) return null;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) return null;
  return out;
}

function b64uEncode(bytes) {
  let bin = "";
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// SPEC §3.1 field(x): 4-byte big-endian length, then the bytes.
function concatFields(tag, values) {
  const parts = values.map((v) => enc.encode(v));
  const head = enc.encode(tag);
  let len = head.length + 1;
  for (const p of parts) len += 4 + p.length;
  const out = new Uint8Array(len);
  out.set(head, 0);
  let o = head.length + 1; // the %x00 after the tag is already zero
  for (const p of parts) {
    new DataView(out.buffer).setUint32(o, p.length);
    out.set(p, o + 4);
    o += 4 + p.length;
  }
  return out;
}

const trimOws = (s) => s.replace(/^[ \t]+|[ \t]+$/g, "");
const collisionKey = (name) => name.toLowerCase().replace(/[_.]/g, "-");
const inNamespace = (name) => collisionKey(name).startsWith("x-vendo-");

// SPEC §2: a `Host` value to `{ label }` (single-level) or
// `{ deployment, tenant }` (legacy).
export function parseHost(host, apex = "vendo.run", reserved = new Set(DEFAULT_RESERVED)) {
  let name = host;
  const colon = name.lastIndexOf(":");
  if (colon >= 0) {
    const port = name.slice(colon + 1);
    if (!/^[0-9]{1,5}$/.test(port) || +port < 1 || +port > 65535) deny(400, "invalid_host");
    name = name.slice(0, colon);
  }
  if (name.endsWith(".")) name = name.slice(0, -1);
  if (name === "" || name.length > 253 || !/^[A-Za-z0-9.-]+$/.test(name)) deny(400, "invalid_host");
  name = name.toLowerCase();
  const labels = name.split(".");
  if (labels.some((l) => l === "" || l.length > 63)) deny(400, "invalid_host");
  if (labels.every((l) => /^[0-9]+$/.test(l))) deny(400, "invalid_host");
  if (name === apex) deny(404, "apex");
  if (!name.endsWith("." + apex)) deny(404, "not_under_apex");
  const sub = name.slice(0, name.length - apex.length - 1).split(".");
  if (sub.length > 2) deny(400, "too_deep");
  for (const l of sub) if (!SLUG.test(l) || l.includes("--")) deny(400, "invalid_label");
  if (sub.length === 1) {
    if (reserved.has(sub[0])) deny(404, "reserved");
    return { label: sub[0] };
  }
  return { deployment: sub[0], tenant: sub[1] };
}

// SPEC §3.2, after the route check and before the session is looked up.
function checkRequestSite(method, host, headers) {
  const site = headers.get("sec-fetch-site");
  if (site !== null) {
    const s = trimOws(site).toLowerCase();
    // Several values arrive joined with ", " and are not a known value.
    if (s === "same-origin" || s === "none") return;
    const mode = headers.get("sec-fetch-mode");
    const dest = headers.get("sec-fetch-dest");
    const navigation =
      (method === "GET" || method === "HEAD") &&
      mode !== null && trimOws(mode).toLowerCase() === "navigate" &&
      dest !== null && trimOws(dest).toLowerCase() === "document";
    if (!navigation) deny(403, "cross_site_request");
    return;
  }
  if (method === "GET" || method === "HEAD" || method === "OPTIONS") return;
  const origin = headers.get("origin");
  if (origin === null) return;
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#@ \t,]+)$/.exec(trimOws(origin));
  if (m === null || bareHost(m[1]).toLowerCase() !== bareHost(host).toLowerCase()) deny(403, "cross_site_request");
}

function bareHost(authority) {
  const m = /^(.*):[0-9]*$/.exec(authority);
  const host = m ? m[1] : authority;
  return host.endsWith(".") ? host.slice(0, -1) : host;
}

// SPEC §3 step 3's parser: the pairs of one `Cookie` value.
function cookiePairs(value) {
  const pairs = [];
  for (const part of value.split(";")) {
    const raw = trimOws(part);
    if (raw === "") continue;
    const eq = raw.indexOf("=");
    pairs.push(
      eq < 0
        ? { name: raw, value: null, raw }
        : { name: trimOws(raw.slice(0, eq)), value: trimOws(raw.slice(eq + 1)), raw },
    );
  }
  return pairs;
}

// SPEC §4 claims: tenant LF deployment LF user LF email LF iat LF exp.
function parseClaims(bytes) {
  let text;
  try {
    text = utf8.decode(bytes);
  } catch {
    return null;
  }
  const f = text.split("\n");
  if (f.length !== 6) return null;
  const [tenant_id, deployment_id, user_id, email, iatText, expText] = f;
  if (!ID.test(tenant_id) || !ID.test(deployment_id) || !ID.test(user_id)) return null;
  if (email.length < 3 || email.length > 254 || !VISIBLE_ASCII.test(email)) return null;
  if (!email.includes("@") || email.startsWith("@") || email.endsWith("@")) return null;
  if (!INTEGER.test(iatText) || !INTEGER.test(expText)) return null;
  const iat = Number(iatText);
  const exp = Number(expText);
  if (iat > MAX_UNIX_SECONDS || exp > MAX_UNIX_SECONDS || iat >= exp) return null;
  return { tenant_id, deployment_id, user_id, email, iat, exp };
}

/**
 * The checks, with keys imported once (call once per isolate).
 *
 * @param {{ apex?: string, session_cookie?: string, session_keys: {kid: string, key: string}[],
 *           attestation?: {kid: string, secret: string}, reserved?: string[],
 *           leeway_secs?: number, max_lifetime_secs?: number }} config  the `VendoConfig` of vendo.d.ts
 */
export async function createJsChecks(config) {
  const apex = config.apex ?? "vendo.run";
  const cookieName = config.session_cookie ?? "__Host-vendo_session";
  const cookieNameLower = cookieName.toLowerCase();
  const reserved = new Set(config.reserved ?? DEFAULT_RESERVED);
  const leeway = config.leeway_secs ?? 60;
  const maxLifetime = config.max_lifetime_secs ?? 604800;

  const sessionKeys = new Map();
  for (const { kid, key } of config.session_keys) {
    const bytes = hexBytes(key);
    if (!KID.test(kid) || bytes.length < 32) throw new TypeError("session key: kid syntax or length");
    sessionKeys.set(kid, await crypto.subtle.importKey("raw", bytes, HMAC, false, ["sign", "verify"]));
  }
  let attestation = null;
  if (config.attestation) {
    const { kid, secret } = config.attestation;
    attestation = { kid, key: await crypto.subtle.importKey("raw", hexBytes(secret), HMAC, false, ["sign"]) };
  }

  // SPEC §4, in the table's order; no claim is read before the MAC verifies.
  async function verifyToken(token, now, tenantId, deploymentId) {
    if (token.length > MAX_TOKEN_LEN) deny(401, "malformed");
    const parts = token.split(".");
    if (parts.length !== 4 || parts[0] !== "v1") deny(401, "malformed");
    const [, kid, payload, macText] = parts;
    if (!KID.test(kid) || payload === "" || macText.length !== 43) deny(401, "malformed");
    const claimsBytes = b64uDecode(payload);
    const mac = b64uDecode(macText);
    if (claimsBytes === null || mac === null) deny(401, "malformed");
    const key = sessionKeys.get(kid);
    if (key === undefined) deny(401, "unknown_key");
    const signed = enc.encode(`vendo-session-v1\0v1.${kid}.${payload}`);
    if (!(await crypto.subtle.verify("HMAC", key, mac, signed))) deny(401, "bad_signature");
    const c = parseClaims(claimsBytes);
    if (c === null) deny(401, "bad_claims");
    if (c.exp - c.iat > maxLifetime) deny(401, "lifetime_too_long");
    if (now + leeway < c.iat) deny(401, "not_yet_valid");
    if (now >= c.exp + leeway) deny(401, "expired");
    if (c.tenant_id !== tenantId) deny(403, "wrong_tenant");
    if (c.deployment_id !== deploymentId) deny(403, "wrong_deployment");
    return c;
  }

  // SPEC §3.1.
  async function attest(session, now, method, authority, pathAndQuery) {
    const info = enc.encode(`vendo-attestation-key-v1\0${session.deployment_id}`);
    const raw = await crypto.subtle.sign("HMAC", attestation.key, info);
    const deploymentKey = await crypto.subtle.importKey("raw", raw, HMAC, false, ["sign"]);
    const ts = String(now);
    const message = concatFields("vendo-attestation-v1", [
      attestation.kid, ts, method, authority, pathAndQuery,
      session.tenant_id, session.deployment_id, session.user_id, session.email,
    ]);
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", deploymentKey, message));
    return `v1.${attestation.kid}.${ts}.${b64uEncode(mac)}`;
  }

  // SPEC §3 steps 1–3: the deletes and replacements that strip `headers`.
  function stripPlan(headers) {
    const deletes = [];
    const sets = [];
    let connection = null;
    let cookie = null;
    for (const [name, value] of headers) {
      if (inNamespace(name)) deletes.push(name);
      else if (name === "connection") connection = value;
      else if (name === "cookie") cookie = value;
    }
    if (connection !== null) {
      const tokens = connection.split(",");
      const kept = tokens.filter((t) => !inNamespace(trimOws(t)));
      if (kept.length !== tokens.length) {
        const joined = kept.map(trimOws).filter((t) => t !== "").join(", ");
        if (joined === "") deletes.push("connection");
        else sets.push(["connection", joined]);
      }
    }
    const sessionTokens = [];
    if (cookie !== null) {
      const pairs = cookiePairs(cookie);
      const kept = [];
      for (const p of pairs) {
        if (p.name === cookieName) sessionTokens.push(p.value ?? "");
        else if (
          !p.name.toLowerCase().includes(cookieNameLower) &&
          !(p.value !== null && p.value.toLowerCase().includes(cookieNameLower))
        ) kept.push(p.raw);
      }
      if (kept.length !== pairs.length) {
        if (kept.length === 0) deletes.push("cookie");
        else sets.push(["cookie", kept.join("; ")]);
      }
    }
    return { deletes, sets, sessionTokens };
  }

  function forwarded(headers, plan) {
    const out = new Headers(headers);
    for (const name of plan.deletes) out.delete(name);
    for (const [name, value] of plan.sets) out.set(name, value);
    return out;
  }

  async function decide(request, url, entry, now, plan) {
    const host = url.host;
    const hostHeader = request.headers.get("host");
    if (hostHeader !== null && hostHeader.toLowerCase() !== host.toLowerCase()) deny(400, "host_mismatch");
    const key = parseHost(host, apex, reserved);
    if (entry === null || entry === undefined) deny(404, "not_found");
    const rebuilds = key.label !== undefined
      ? key.label === `${entry.tenant_slug}-${entry.deployment_slug}`
      : key.tenant === entry.tenant_slug && key.deployment === entry.deployment_slug;
    if (!rebuilds) deny(404, "route_mismatch");
    checkRequestSite(request.method, host, request.headers);
    if (plan.sessionTokens.length === 0) deny(401, "no_session");
    if (plan.sessionTokens.length > 1) deny(401, "duplicate_session");
    return verifyToken(plan.sessionTokens[0], now, entry.tenant_id, entry.deployment_id);
  }

  /**
   * @param {Request} request
   * @param {{tenant_id: string, deployment_id: string, tenant_slug: string, deployment_slug: string} | null} entry
   * @param {number} now unix seconds
   * @param {{ upstream?: string }} [options]
   */
  async function admit(request, entry, now, options = {}) {
    const url = new URL(request.url);
    const plan = stripPlan(request.headers);
    let session;
    try {
      session = await decide(request, url, entry, now, plan);
    } catch (e) {
      if (!(e instanceof Deny)) throw e;
      return { ok: false, status: e.status, code: e.code, headers: forwarded(request.headers, plan) };
    }
    const authority = options.upstream !== undefined ? new URL(options.upstream).host : url.host;
    if (options.upstream !== undefined) plan.sets.push(["host", authority]);
    const values = [session.tenant_id, session.deployment_id, session.user_id, session.email];
    for (let i = 0; i < IDENTITY.length; i++) plan.sets.push([IDENTITY[i], values[i]]);
    if (attestation !== null) {
      // The origin-form target as sent: `pathname + search` would drop a bare `?`.
      let target = request.url.slice(url.origin.length);
      const hash = target.indexOf("#");
      if (hash >= 0) target = target.slice(0, hash);
      plan.sets.push([ATTESTATION, await attest(session, now, request.method, authority, target)]);
    }
    const { tenant_id, deployment_id, user_id, email } = session;
    return { ok: true, headers: forwarded(request.headers, plan), session: { tenant_id, deployment_id, user_id, email } };
  }

  return { admit, verifyToken, attest };
}
