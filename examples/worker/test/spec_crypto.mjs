// The wire formats of SPEC.md, written from its text alone over WebCrypto
// (globalThis.crypto.subtle), so that the end-to-end tests judge the Worker
// against the specification and not against the crate that the Worker runs:
//
// - hex and canonical base64url (SPEC §4: no padding, url-safe alphabet
//   only, zero unused trailing bits);
// - v1 session tokens (SPEC §4): mint from claims and a key, and verify in
//   the SPEC's order of checks;
// - attestation (SPEC §3.1): the per-deployment key derived from the
//   platform's secret, signing, and the tool-side verification of an
//   `x-vendo-attestation` header over a request as a tool received it.
//
// Strings that come off the wire (header values, the method, the target)
// are taken one character per byte (latin1), which is how node:http hands
// them over; everything else is UTF-8.

const subtle = globalThis.crypto.subtle;
const utf8 = new TextEncoder();

// ---------------------------------------------------------------- bytes

export function hexToBytes(hex) {
  if (typeof hex !== "string" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new TypeError(`not hex: ${hex}`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The bytes of a string taken one character per byte; null if a character is above 0xFF. */
export function latin1Bytes(s) {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) return null;
    out[i] = c;
  }
  return out;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function asBytes(x) {
  return x instanceof Uint8Array ? x : utf8.encode(x);
}

// ---------------------------------------------------------------- base64url

const B64U = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64U_VALUE = new Map(Array.from(B64U, (c, i) => [c, i]));

/** RFC 4648 §5 base64url without padding. */
export function b64uEncode(bytes) {
  let out = "";
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64U[n >> 18] + B64U[(n >> 12) & 63] + B64U[(n >> 6) & 63] + B64U[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += B64U[n >> 18] + B64U[(n >> 12) & 63];
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += B64U[n >> 18] + B64U[(n >> 12) & 63] + B64U[(n >> 6) & 63];
  }
  return out;
}

/**
 * Canonical base64url decoding (SPEC §4): null for padding, a character
 * outside the url-safe alphabet, an impossible length, or non-zero unused
 * trailing bits.
 */
export function b64uDecode(s) {
  if (typeof s !== "string" || s.length % 4 === 1) return null;
  const values = [];
  for (const c of s) {
    const v = B64U_VALUE.get(c);
    if (v === undefined) return null;
    values.push(v);
  }
  const out = [];
  let i = 0;
  for (; i + 4 <= values.length; i += 4) {
    const n = (values[i] << 18) | (values[i + 1] << 12) | (values[i + 2] << 6) | values[i + 3];
    out.push(n >> 16, (n >> 8) & 255, n & 255);
  }
  const rest = values.length - i;
  if (rest === 2) {
    if ((values[i + 1] & 0x0f) !== 0) return null;
    out.push(((values[i] << 2) | (values[i + 1] >> 4)) & 255);
  } else if (rest === 3) {
    if ((values[i + 2] & 0x03) !== 0) return null;
    const n = (values[i] << 10) | (values[i + 1] << 4) | (values[i + 2] >> 2);
    out.push((n >> 8) & 255, n & 255);
  }
  return Uint8Array.from(out);
}

// ---------------------------------------------------------------- HMAC

async function hmacKey(key) {
  return subtle.importKey("raw", asBytes(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

/** HMAC-SHA256(key, data) as bytes. */
export async function hmacSha256(key, data) {
  return new Uint8Array(await subtle.sign("HMAC", await hmacKey(key), asBytes(data)));
}

/** Constant-time check of a MAC: WebCrypto's HMAC verify. */
async function hmacVerify(key, mac, data) {
  return subtle.verify("HMAC", await hmacKey(key), mac, asBytes(data));
}

// ---------------------------------------------------------------- syntax (SPEC §1, §4)

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const KID_RE = /^[A-Za-z0-9_-]{1,32}$/;
const MAX_UNIX = 253402300799;

export const isId = (s) => typeof s === "string" && ID_RE.test(s);
export const isKid = (s) => typeof s === "string" && KID_RE.test(s);

/** SPEC §4 email: 3–254 bytes of 0x21–0x7E, an `@`, not first nor last. */
export function isEmail(s) {
  return (
    typeof s === "string" &&
    /^[\x21-\x7e]{3,254}$/.test(s) &&
    s.includes("@") &&
    !s.startsWith("@") &&
    !s.endsWith("@")
  );
}

/** SPEC §4 integer: decimal, no sign, no leading zero except "0", at most 253402300799. Null if not. */
export function parseUnix(s) {
  if (typeof s !== "string" || !/^(0|[1-9][0-9]{0,11})$/.test(s)) return null;
  const n = Number(s);
  return n <= MAX_UNIX ? n : null;
}

// ---------------------------------------------------------------- sessions (SPEC §4)

const SESSION_TAG = utf8.encode("vendo-session-v1\x00");

/**
 * Mints a v1 session token.
 * claims: { tenant_id, deployment_id, user_id, email, iat, exp } (iat/exp unix seconds)
 * key: { kid, key } with key as hex or bytes.
 */
export async function mintSession(claims, key) {
  const keyBytes = typeof key.key === "string" ? hexToBytes(key.key) : key.key;
  const text = [claims.tenant_id, claims.deployment_id, claims.user_id, claims.email, String(claims.iat), String(claims.exp)].join("\n");
  const payload = b64uEncode(utf8.encode(text));
  const signed = `v1.${key.kid}.${payload}`;
  const mac = b64uEncode(await hmacSha256(keyBytes, concat(SESSION_TAG, utf8.encode(signed))));
  return `${signed}.${mac}`;
}

/**
 * Verifies a v1 session token, reporting the first failure in SPEC §4's order.
 * keys: { kid: hex | bytes }.
 * options: { now, leeway = 60, maxLifetime = 604800, tenantId?, deploymentId? }.
 * Returns { ok: true, claims } or { ok: false, code }.
 */
export async function verifySession(token, keys, options) {
  const { now, leeway = 60, maxLifetime = 604800, tenantId, deploymentId } = options;
  const fail = (code) => ({ ok: false, code });
  // 1. malformed: length, shape, version, kid syntax, base64, mac length.
  if (typeof token !== "string" || utf8.encode(token).length > 4096) return fail("malformed");
  const parts = token.split(".");
  if (parts.length !== 4 || parts[0] !== "v1") return fail("malformed");
  const [, kid, payload, macText] = parts;
  if (!isKid(kid) || payload.length === 0) return fail("malformed");
  const payloadBytes = b64uDecode(payload);
  const mac = b64uDecode(macText);
  if (payloadBytes === null || payloadBytes.length === 0 || mac === null || mac.length !== 32) return fail("malformed");
  // 2. unknown_key.
  if (!Object.hasOwn(keys, kid)) return fail("unknown_key");
  const keyBytes = typeof keys[kid] === "string" ? hexToBytes(keys[kid]) : keys[kid];
  // 3. bad_signature, before any claim is looked at.
  if (!(await hmacVerify(keyBytes, mac, concat(SESSION_TAG, utf8.encode(`v1.${kid}.${payload}`))))) {
    return fail("bad_signature");
  }
  // 4. bad_claims.
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(payloadBytes);
  } catch {
    return fail("bad_claims");
  }
  const fields = text.split("\n");
  if (fields.length !== 6) return fail("bad_claims");
  const [tenant_id, deployment_id, user_id, email, iatText, expText] = fields;
  const iat = parseUnix(iatText);
  const exp = parseUnix(expText);
  if (!isId(tenant_id) || !isId(deployment_id) || !isId(user_id) || !isEmail(email) || iat === null || exp === null || iat >= exp) {
    return fail("bad_claims");
  }
  // 5–7. lifetime and window.
  if (exp - iat > maxLifetime) return fail("lifetime_too_long");
  if (!(iat <= now + leeway)) return fail("not_yet_valid");
  if (!(now < exp + leeway)) return fail("expired");
  // 8–9. audience.
  if (tenantId !== undefined && tenant_id !== tenantId) return fail("wrong_tenant");
  if (deploymentId !== undefined && deployment_id !== deploymentId) return fail("wrong_deployment");
  return { ok: true, claims: { tenant_id, deployment_id, user_id, email, iat, exp }, kid };
}

/** The claims of a token without verifying it (for choosing test inputs), or null. */
export function peekSessionClaims(token) {
  const parts = String(token).split(".");
  if (parts.length !== 4) return null;
  const bytes = b64uDecode(parts[2]);
  if (bytes === null) return null;
  const fields = new TextDecoder().decode(bytes).split("\n");
  if (fields.length !== 6) return null;
  return { kid: parts[1], tenant_id: fields[0], deployment_id: fields[1], user_id: fields[2], email: fields[3], iat: parseUnix(fields[4]), exp: parseUnix(fields[5]) };
}

// ---------------------------------------------------------------- attestation (SPEC §3.1)

export const ATTESTATION = "x-vendo-attestation";
export const IDENTITY_HEADERS = ["x-vendo-tenant-id", "x-vendo-deployment-id", "x-vendo-user-id", "x-vendo-user-email"];
const ATTESTED = new Set([...IDENTITY_HEADERS, ATTESTATION]);
const KEY_TAG = utf8.encode("vendo-attestation-key-v1\x00");
const MESSAGE_TAG = utf8.encode("vendo-attestation-v1\x00");

/** SPEC §3: the collision key of a header name. */
export function collisionKey(name) {
  return name.toLowerCase().replace(/[_.]/g, "-");
}

export const inNamespace = (name) => collisionKey(name).startsWith("x-vendo-");

/** deployment_key = HMAC-SHA256(secret, "vendo-attestation-key-v1" %x00 deployment_id). */
export async function deriveDeploymentKey(secret, deploymentId) {
  const secretBytes = typeof secret === "string" ? hexToBytes(secret) : secret;
  return hmacSha256(secretBytes, concat(KEY_TAG, utf8.encode(deploymentId)));
}

function field(bytes) {
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, bytes.length, false);
  return concat(len, bytes);
}

/** The bytes the MAC covers; fields are strings taken one character per byte. Null if one is not. */
function attestationMessage(fields) {
  const encoded = fields.map(latin1Bytes);
  if (encoded.some((b) => b === null)) return null;
  return concat(MESSAGE_TAG, ...encoded.map(field));
}

/**
 * Signs an attestation header value.
 * { kid, ts, method, authority, pathAndQuery, identity: { tenant_id, deployment_id, user_id, email } }
 * with the deployment key (bytes).
 */
export async function signAttestation(request, deploymentKey) {
  const { kid, ts, method, authority, pathAndQuery, identity } = request;
  const message = attestationMessage([kid, String(ts), method, authority, pathAndQuery, identity.tenant_id, identity.deployment_id, identity.user_id, identity.email]);
  if (message === null) throw new TypeError("a field is not one byte per character");
  return `v1.${kid}.${ts}.${b64uEncode(await hmacSha256(deploymentKey, message))}`;
}

/** Splits a `Connection` value into its tokens (comma-separated, trimmed of spaces and tabs). */
function connectionTokens(value) {
  return value.split(",").map((t) => t.replace(/^[ \t]+|[ \t]+$/g, "")).filter((t) => t.length > 0);
}

/**
 * The tool's check of a received request (SPEC §3.1), in the SPEC's order.
 *
 * request: { method, target, headers: [[name, value], ...] } exactly as
 *   received (target is the request-target: origin-form `/p?q`, or
 *   absolute-form, whose authority then counts).
 * options: { keys: [{ kid, key: bytes }] (this deployment's keys),
 *   deploymentId (the tool's own), now, maxAge = 60, skew = 5 }.
 * Returns { ok: true, identity, kid, ts } or { ok: false, code }.
 */
export async function verifyAttestation(request, options) {
  const { keys, deploymentId, now, maxAge = 60, skew = 5 } = options;
  const fail = (code) => ({ ok: false, code });
  const headers = request.headers.map(([n, v]) => [n.toLowerCase(), v]);

  // Nothing else in the namespace, as a name or as a `Connection` token.
  for (const [name, value] of headers) {
    if (inNamespace(name) && !ATTESTED.has(name)) return fail("unexpected_header");
    if (name === "connection" && connectionTokens(value).some(inNamespace)) return fail("unexpected_header");
  }
  // Each of the five exactly once.
  const values = (name) => headers.filter(([n]) => n === name).map(([, v]) => v);
  const attestations = values(ATTESTATION);
  if (attestations.length === 0) return fail("missing");
  const identityValues = IDENTITY_HEADERS.map(values);
  if (identityValues.some((v) => v.length === 0)) return fail("missing_identity");
  if (attestations.length > 1 || identityValues.some((v) => v.length > 1)) return fail("duplicate_header");

  // Shape and kid.
  const parts = attestations[0].split(".");
  if (parts.length !== 4 || parts[0] !== "v1") return fail("malformed");
  const [, kid, tsText, macText] = parts;
  const ts = parseUnix(tsText);
  const mac = b64uDecode(macText);
  if (!isKid(kid) || ts === null || macText.length !== 43 || mac === null || mac.length !== 32) return fail("malformed");
  const key = keys.find((k) => k.kid === kid);
  if (key === undefined) return fail("unknown_key");

  // One authority: the URI's if the target is absolute-form, else the single Host.
  let authority;
  let pathAndQuery = request.target;
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)(.*)$/.exec(request.target);
  if (absolute) {
    authority = absolute[1];
    pathAndQuery = absolute[2] === "" ? "/" : absolute[2];
  } else {
    const hosts = values("host");
    if (hosts.length !== 1) return fail("missing_authority");
    authority = hosts[0];
  }
  if (authority === "") return fail("missing_authority");

  // The MAC, in constant time.
  const [[tenant_id], [deployment_id], [user_id], [email]] = identityValues;
  const message = attestationMessage([kid, tsText, request.method, authority, pathAndQuery, tenant_id, deployment_id, user_id, email]);
  if (message === null || !(await hmacVerify(key.key, mac, message))) return fail("bad_signature");

  // Identity syntax, freshness, audience.
  if (!isId(tenant_id) || !isId(deployment_id) || !isId(user_id) || !isEmail(email)) return fail("bad_identity");
  if (!(ts <= now + skew)) return fail("not_yet_valid");
  if (!(now <= ts + maxAge + skew)) return fail("expired");
  if (deployment_id !== deploymentId) return fail("wrong_deployment");
  return { ok: true, identity: { tenant_id, deployment_id, user_id, email }, kid, ts };
}
