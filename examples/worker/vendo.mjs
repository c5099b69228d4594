// vendo-isolation for Cloudflare Workers: the JavaScript API (vendo.d.ts)
// over the crate's WebAssembly builds: vendo_worker.wasm (src/lib.rs) for
// the app proxy and the tool, vendo_provider.wasm (provider/src/lib.rs)
// for the provider proxy.
//
// Every decision is the crate's. This file only moves text in and out:
// the fields of one call are joined with NUL, which no header name or
// value (the Fetch standard forbids it in `Headers`), host, URL or id can
// hold, encoded once into the module's memory, and the answer is decoded
// once and split on NUL. Strings that do not come from `Headers` or a
// parsed URL are checked for NUL before they are joined, so a field can
// never shift into the next one.

/** Largest encoded input accepted, in bytes (Cloudflare caps request headers at 32 KiB). */
export const MAX_INPUT_BYTES = 256 * 1024;

const SEP = "\0";
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8");

/** Bad configuration, arguments of the wrong type, oversized input, or a module fault. */
export class VendoError extends Error {
  constructor(message) {
    super(message);
    this.name = "VendoError";
  }
}

function field(value, what) {
  if (typeof value !== "string") throw new VendoError(`${what} must be a string`);
  if (value.includes(SEP)) throw new VendoError(`${what} must not contain NUL`);
  return value;
}

const U64_MAX = 18446744073709551615n;

function seconds(value, what) {
  if (!Number.isInteger(value) || value < 0) throw new VendoError(`${what} must be a non-negative integer`);
  if (Number.isSafeInteger(value)) return String(value);
  // Beyond 2^53 a Number is approximate; the crate takes u64 and saturates.
  const big = BigInt(value);
  return String(big > U64_MAX ? U64_MAX : big);
}

/** A u64 count exactly: a safe integer or a bigint (a larger Number is approximate). */
function u64(value, what) {
  if (typeof value === "bigint") {
    if (value < 0n || value > U64_MAX) throw new VendoError(`${what} must fit in 64 unsigned bits`);
    return String(value);
  }
  if (!Number.isSafeInteger(value) || value < 0) throw new VendoError(`${what} must be a non-negative safe integer or a bigint`);
  return String(value);
}

/** Bytes from a CSPRNG (`crypto.getRandomValues`), as hex. */
function randomHex(value, what) {
  if (!(value instanceof Uint8Array)) throw new VendoError(`${what} must be a Uint8Array`);
  let hex = "";
  for (const b of value) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/**
 * One instance of the module, configured by one call. A trap (which the
 * crate's code never causes, but memory exhaustion could) leaves the
 * instance's state unknown, so it is discarded and the next call runs on
 * a fresh instance configured again.
 */
class Module {
  #module;
  #name;
  #configure;
  #exports = null;
  /** The configuring call's answer. */
  configured = "";

  constructor(module, configureOp, configText, name = "vendo_worker.wasm") {
    if (!(module instanceof WebAssembly.Module)) {
      throw new VendoError(`the first argument must be the compiled ${name} (a WebAssembly.Module)`);
    }
    this.#module = module;
    this.#name = name;
    this.#configure = [configureOp, configText];
    this.#start();
  }

  #start() {
    const [op, text] = this.#configure;
    let exports;
    try {
      exports = new WebAssembly.Instance(this.#module, {}).exports;
    } catch (e) {
      if (e instanceof WebAssembly.LinkError) throw new VendoError(`not ${this.#name}: ${e.message}`);
      throw e;
    }
    if (typeof exports[op] !== "function") throw new VendoError(`not ${this.#name}: it has no ${op}`);
    this.#exports = exports;
    const [status, answer] = this.#raw(op, text);
    if (status !== 0) throw new VendoError(`configuration refused: ${answer}`);
    this.configured = answer;
  }

  #raw(op, text) {
    if (text.length > MAX_INPUT_BYTES) throw new VendoError(`input of ${text.length} characters exceeds ${MAX_INPUT_BYTES} bytes`);
    const ex = this.#exports;
    const cap = text.length * 3;
    const ptr = ex.vendo_input(cap);
    const { read, written } = encoder.encodeInto(text, new Uint8Array(ex.memory.buffer, ptr, cap));
    if (read !== text.length || written > MAX_INPUT_BYTES) {
      throw new VendoError(`input exceeds ${MAX_INPUT_BYTES} bytes`);
    }
    const status = ex[op](written);
    const answer = decoder.decode(new Uint8Array(ex.memory.buffer, ex.vendo_output(), ex.vendo_output_len()));
    return [status, answer];
  }

  #run(op, text) {
    if (this.#exports === null) this.#start();
    try {
      return this.#raw(op, text);
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) {
        this.#exports = null;
        throw new VendoError(`the module trapped and was reset: ${e.message}`);
      }
      throw e;
    }
  }

  /** Runs `op`; returns the answer's fields, or null when the module refused the input. */
  call(op, text) {
    const [status, answer] = this.#run(op, text);
    return status === 0 ? answer.split(SEP) : null;
  }

  /** Runs `op`; returns the answer's fields, or throws the module's reason for refusing. */
  must(op, text, what) {
    const [status, answer] = this.#run(op, text);
    if (status !== 0) throw new VendoError(`${what}: ${answer}`);
    return answer.split(SEP);
  }
}

/** `host` and origin-form target of a serialized URL (`Request.url`). */
function splitUrl(url) {
  const scheme = url.indexOf("://");
  if (scheme > 0) {
    const start = scheme + 3;
    let slash = url.indexOf("/", start);
    if (slash < 0) slash = url.length;
    const hash = url.indexOf("#", slash);
    const host = url.slice(start, slash);
    if (!host.includes("@")) {
      return [host, (hash < 0 ? url.slice(slash) : url.slice(slash, hash)) || "/"];
    }
  }
  const u = new URL(url);
  return [u.host, u.pathname + u.search];
}

/** The request's pieces: from a `Request`, or from `{method, host, target, headers}`. */
function pieces(request) {
  if (typeof Request !== "undefined" && request instanceof Request) {
    const [host, target] = splitUrl(request.url);
    return { method: request.method, host, target, headers: request.headers, list: null };
  }
  if (request === null || typeof request !== "object") throw new VendoError("request must be a Request or {method, host, target, headers}");
  const { method = "GET", host, target = "/", headers = [] } = request;
  const list = headerList(headers);
  return { method: field(method, "method"), host: field(host, "host"), target: field(target, "target"), headers: null, list };
}

/** `[name, value]` pairs from `Headers` or an iterable of pairs, checked for NUL. */
function headerList(headers) {
  if (headers === null || typeof headers !== "object" || typeof headers[Symbol.iterator] !== "function") {
    throw new VendoError("headers must be Headers or [name, value] pairs");
  }
  const out = [];
  for (const pair of headers) {
    if (!Array.isArray(pair) || pair.length !== 2) throw new VendoError("headers must be [name, value] pairs");
    out.push([field(pair[0], "header name"), field(pair[1], "header value")]);
  }
  return out;
}

/**
 * `text`, then each header's name and value, NUL-separated. The pieces are
 * joined once: appending four pieces per header with `+=` builds a deep
 * rope that the encoder must then flatten, which costs more in workerd.
 */
function appendHeaders(text, p) {
  const parts = [text];
  if (p.headers !== null) {
    for (const [name, value] of p.headers) parts.push(name, value);
  } else {
    for (const [name, value] of p.list) parts.push(name, value);
  }
  return parts.join(SEP);
}

/**
 * `appendHeaders` for an admit: from a `Headers`, only the headers the gate
 * reads, the values it reads (`values`) and the names that hold `mark`,
 * which every spelling of the namespace it removes holds (the module
 * answers both when it is configured, and a property in its tests holds
 * every name the gate reads to one of the two). The gate neither reads
 * nor changes any other header, which the Worker forwards from the
 * `Headers` as it came; so the decision and the changes are those of the
 * whole list, for less copying (a property in test/api.test.mjs).
 */
function appendForAdmit(text, p, values, mark) {
  if (p.headers === null) return appendHeaders(text, p);
  const h = p.headers;
  const parts = [text];
  for (const name of h.keys()) {
    if (values.has(name)) parts.push(name, h.get(name));
    else if (name.includes(mark)) parts.push(name, "");
  }
  return parts.join(SEP);
}

function entryFields(entry) {
  if (entry === null || entry === undefined) return "0\0\0\0\0";
  if (typeof entry !== "object") throw new VendoError("entry must be an object or null");
  return (
    "1" +
    SEP +
    field(entry.tenant_id, "entry.tenant_id") +
    SEP +
    field(entry.deployment_id, "entry.deployment_id") +
    SEP +
    field(entry.tenant_slug, "entry.tenant_slug") +
    SEP +
    field(entry.deployment_slug, "entry.deployment_slug")
  );
}

/** The edits of an answer at `i`: names to delete, pairs to set. */
function readEdits(fields, i) {
  const deletes = [];
  for (let n = Number(fields[i++]); n > 0; n--) deletes.push(fields[i++]);
  const set = [];
  for (let n = Number(fields[i++]); n > 0; n--, i += 2) set.push([fields[i], fields[i + 1]]);
  return { delete: deletes, set };
}

/** The changes of an answer at `i`: spoofed spellings, then the edits. */
function readChanges(fields, i) {
  const spoofed = [];
  for (let n = Number(fields[i++]); n > 0; n--) spoofed.push(fields[i++]);
  return { spoofed, changes: readEdits(fields, i) };
}

/**
 * Applies changes to a copy of the request's headers, as a Worker forwards
 * them. The module writes each name's pairs together, so "delete the name,
 * then append each" is one `set` and an `append` per further value.
 */
function applyChanges(p, changes) {
  if (p.headers !== null) {
    const out = new Headers(p.headers);
    for (const name of changes.delete) out.delete(name);
    let last = null;
    for (const [name, value] of changes.set) {
      if (name === last) out.append(name, value);
      else out.set(name, value);
      last = name;
    }
    return out;
  }
  const touched = new Set(changes.delete);
  for (const [name] of changes.set) touched.add(name);
  const out = p.list.filter(([name]) => !touched.has(name.toLowerCase())).map(([n, v]) => [n.toLowerCase(), v]);
  for (const pair of changes.set) out.push(pair);
  return out;
}

/**
 * A result whose forwarded headers are materialised on first read of
 * `headers`, so a Worker that only needs `changes` never copies. The
 * results are classes with the getter on the prototype: an object literal
 * with its own `get headers()` costs V8 a runtime call on every admit
 * (about 4 µs in workerd, measured with bench.mjs), a class instance none.
 */
class Forwarded {
  #pieces;
  #headers = null;
  constructor(p, changes) {
    this.#pieces = p;
    this.changes = changes;
  }
  get headers() {
    if (this.#headers === null) this.#headers = applyChanges(this.#pieces, this.changes);
    return this.#headers;
  }
}

/** An admitted request (vendo.d.ts `Admitted`). */
class Admission extends Forwarded {
  constructor(p, f, spoofed, changes, upstream) {
    super(p, changes);
    this.ok = true;
    // Exactly what the attestation covers: fetch this, not a URL rebuilt
    // from `URL.pathname + URL.search`, which drops a bare `?`.
    this.upstreamUrl = upstream === "" ? null : (upstream.endsWith("/") ? upstream.replace(/\/+$/, "") : upstream) + p.target;
    this.session = { tenant_id: f[1], deployment_id: f[2], user_id: f[3], email: f[4] };
    this.reissue = f[5] || null;
    this.setCookie = f[6] || null;
    this.spoofed = spoofed;
  }
}

/** A denied admit: the status and code, and the stripped headers for logging. */
class Refusal extends Forwarded {
  constructor(p, f, spoofed, changes) {
    super(p, changes);
    this.ok = false;
    this.status = Number(f[1]);
    this.code = f[2];
    this.spoofed = spoofed;
  }
}

/** A provider call to forward (vendo.d.ts `ProviderForwarded`). */
class ProviderCall extends Forwarded {
  constructor(p, f, changes) {
    super(p, changes);
    this.ok = true;
    this.tenant_id = f[1];
    this.deployment_id = f[2];
    this.reserve = f[3];
    this.target = f[4];
  }
}

function configText(config) {
  if (config === null || typeof config !== "object") throw new VendoError("config must be an object");
  const {
    apex = "",
    session_cookie = "",
    reserved,
    leeway_secs = 60,
    max_lifetime_secs = 604800,
    reissue_within_secs = 0,
    session_keys,
    attestation,
  } = config;
  if (!Array.isArray(session_keys) || session_keys.length === 0) throw new VendoError("session_keys must be a non-empty array");
  const parts = [field(apex, "apex"), field(session_cookie, "session_cookie")];
  if (reserved === undefined) parts.push("-");
  else {
    if (!Array.isArray(reserved)) throw new VendoError("reserved must be an array of labels");
    parts.push(String(reserved.length), ...reserved.map((r) => field(r, "reserved label")));
  }
  parts.push(seconds(leeway_secs, "leeway_secs"), seconds(max_lifetime_secs, "max_lifetime_secs"));
  parts.push(seconds(reissue_within_secs, "reissue_within_secs"), String(session_keys.length));
  for (const k of session_keys) {
    if (k === null || typeof k !== "object") throw new VendoError("each session key must be {kid, key}");
    parts.push(field(k.kid, "session key kid"), field(k.key, "session key (hex)"));
  }
  if (attestation === undefined || attestation === null) parts.push("", "");
  else parts.push(field(attestation.kid, "attestation.kid"), field(attestation.secret, "attestation.secret (hex)"));
  return parts.join(SEP);
}

const BAD_REQUEST = Object.freeze({ ok: false, status: 400, code: "bad_request" });

export class Vendo {
  #wasm;
  #cookie;
  /** The headers whose values the gate reads, as the module names them. */
  #values;
  /** What every spelling of the namespace holds, as the module names it. */
  #mark;

  constructor(module, config) {
    this.#wasm = new Module(module, "vendo_configure", configText(config));
    this.#cookie = config.session_cookie || "__Host-vendo_session";
    const [mark, ...values] = this.#wasm.configured.split(SEP);
    this.#mark = mark;
    this.#values = new Set(values);
    if (mark === "" || !this.#values.has("cookie")) throw new VendoError("not vendo_worker.wasm: its configuration names no headers it reads");
  }

  /** The session cookie's name this gate reads and protects. */
  get sessionCookie() {
    return this.#cookie;
  }

  /** Step 1: the route key, from a `Request`'s URL host or a host string. */
  routeKey(requestOrHost) {
    let host;
    if (typeof requestOrHost === "string") {
      // No host holds NUL; the crate would refuse it as it refuses any byte outside a hostname.
      if (requestOrHost.includes(SEP)) return { ok: false, status: 400, code: "invalid_host" };
      host = requestOrHost;
    } else host = pieces(requestOrHost).host;
    const f = this.#wasm.call("vendo_route_key", host);
    if (f === null) return BAD_REQUEST;
    if (f[0] !== "0") return { ok: false, status: Number(f[1]), code: f[2] };
    const key = { ok: true, key: f[1], form: f[2] };
    if (f[2] === "single_level") key.label = f[3];
    else {
      key.deployment = f[3];
      key.tenant = f[4];
    }
    return key;
  }

  /** Step 2: admit or deny; see vendo.d.ts. */
  admit(request, entry, nowSeconds, options = undefined) {
    const p = pieces(request);
    const upstream = options?.upstream === undefined ? "" : field(options.upstream, "options.upstream");
    let text = seconds(nowSeconds, "nowSeconds") + SEP + p.method + SEP + p.host + SEP + p.target + SEP + upstream;
    text = appendForAdmit(text + SEP + entryFields(entry), p, this.#values, this.#mark);
    const f = this.#wasm.call("vendo_admit", text);
    // Input the module cannot take forwards nothing, not even stripped headers.
    if (f === null) return { ...BAD_REQUEST, headers: p.headers !== null ? new Headers() : [] };
    if (f[0] !== "0") {
      const { spoofed, changes } = readChanges(f, 3);
      return new Refusal(p, f, spoofed, changes);
    }
    const { spoofed, changes } = readChanges(f, 7);
    return new Admission(p, f, spoofed, changes, upstream);
  }

  /** SPEC §3 steps 1–3 alone: the headers without the namespace and the session cookie. */
  strip(headers) {
    const p = headers instanceof Headers ? { headers, list: null } : { headers: null, list: headerList(headers) };
    const f = this.#wasm.call("vendo_strip", appendHeaders("", p));
    if (f === null) return null;
    const { spoofed, changes } = readChanges(f, 1);
    return { headers: applyChanges(p, changes), spoofed, changes };
  }

  /** Step 3 (SPEC §3.3): the tool's response headers that may reach the browser. */
  filterResponse(headers) {
    const list = headers instanceof Headers ? [...headers] : headerList(headers);
    const f = this.#wasm.call("vendo_filter_response", list.map(([n, v]) => SEP + n + SEP + v).join(""));
    if (f === null) throw new VendoError("response headers the module cannot take");
    const dropped = new Map();
    for (let i = 2; i + 1 < f.length; i += 2) dropped.set(Number(f[i]), f[i + 1]);
    const kept = list.filter((_, i) => !dropped.has(i));
    if (!(headers instanceof Headers)) for (const pair of kept) pair[0] = pair[0].toLowerCase();
    const removed = [];
    let tampering = false;
    for (const [i, reason] of dropped) {
      const name = list[i][0].toLowerCase();
      removed.push(`${name}: ${reason}`);
      tampering ||= reason === "session_name" || (reason === "header" && name !== "set-cookie2");
    }
    return { headers: headers instanceof Headers ? new Headers(kept) : kept, removed, tampering };
  }

  /** Verifies a bare session token for a tenant and deployment (SPEC §4). */
  verifySession(token, tenantId, deploymentId, nowSeconds) {
    if (typeof token !== "string") throw new VendoError("token must be a string");
    // A token is the client's: anything that is not one is `malformed`, never an exception.
    if (token.includes(SEP)) return { ok: false, code: "malformed" };
    const text = [seconds(nowSeconds, "nowSeconds"), field(tenantId, "tenantId"), field(deploymentId, "deploymentId"), token];
    const f = this.#wasm.call("vendo_verify_session", text.join(SEP));
    if (f === null) throw new VendoError("tenantId, deploymentId or nowSeconds is not valid");
    if (f[0] !== "0") return { ok: false, code: f[1] };
    return {
      ok: true,
      session: { tenant_id: f[1], deployment_id: f[2], user_id: f[3], email: f[4], iat: Number(f[5]), exp: Number(f[6]) },
      reissue: f[7] || null,
    };
  }
}

/** The tool's side (SPEC §3.1): was this request sent by the proxy? */
export class AttestationVerifier {
  #wasm;

  constructor(module, keys, options = {}) {
    if (!Array.isArray(keys) || keys.length === 0) throw new VendoError("keys must be a non-empty array");
    const parts = [seconds(options.maxAgeSecs ?? 60, "maxAgeSecs"), seconds(options.skewSecs ?? 5, "skewSecs"), String(keys.length)];
    for (const k of keys) {
      if (k === null || typeof k !== "object") throw new VendoError("each key must be {kid, deployment_id, key}");
      parts.push(field(k.kid, "kid"), field(k.deployment_id, "deployment_id"), field(k.key, "key (hex)"));
    }
    this.#wasm = new Module(module, "vendo_configure_verifier", parts.join(SEP));
  }

  verify(request, nowSeconds) {
    let method, url, p;
    if (typeof Request !== "undefined" && request instanceof Request) {
      [method, url, p] = [request.method, request.url, { headers: request.headers, list: null }];
    } else {
      if (request === null || typeof request !== "object") throw new VendoError("request must be a Request or {method, url, headers}");
      [method, url, p] = [field(request.method ?? "GET", "method"), field(request.url, "url"), { headers: null, list: headerList(request.headers ?? []) }];
    }
    const text = appendHeaders(seconds(nowSeconds, "nowSeconds") + SEP + method + SEP + url, p);
    const f = this.#wasm.call("vendo_verify_attestation", text);
    if (f === null) return { ok: false, code: "malformed" };
    if (f[0] !== "0") return { ok: false, code: f[1] };
    return {
      ok: true,
      identity: { tenant_id: f[1], deployment_id: f[2], user_id: f[3], email: f[4] },
      kid: f[5],
      signedAt: Number(f[6]),
    };
  }
}

// The provider proxy (SPEC §6–§9), over vendo_provider.wasm.

/** Headers from a `Request`, `Headers` or `[name, value]` pairs. */
function headerSource(request) {
  if (typeof Request !== "undefined" && request instanceof Request) return { headers: request.headers, list: null };
  if (typeof Headers !== "undefined" && request instanceof Headers) return { headers: request, list: null };
  return { headers: null, list: headerList(request) };
}

/** A provider call's path and query and headers: from a `Request`, or from `{target, headers}`. */
function providerRequest(request) {
  if (typeof Request !== "undefined" && request instanceof Request) {
    return { target: splitUrl(request.url)[1], headers: request.headers, list: null };
  }
  if (request === null || typeof request !== "object") throw new VendoError("request must be a Request or {target, headers}");
  const { target = "/", headers = [] } = request;
  return { target: field(target, "target"), ...headerSource(headers) };
}

/** An id that may be absent: null or undefined, never an empty string. */
function optionalId(value, what) {
  if (value === null || value === undefined) return "";
  if (value === "") throw new VendoError(`${what} must be null or an id`);
  return field(value, what);
}

const optionalSeconds = (value, what) => (value === null || value === undefined ? "" : seconds(value, what));

/** `present` and the fields of a looked-up row, or `0` and as many empty ones. */
function row(value, what, fields) {
  if (value === null || value === undefined) return "0" + SEP.repeat(fields.length);
  if (typeof value !== "object") throw new VendoError(`${what} must be an object or null`);
  return ["1", ...fields.map((f) => f(value))].join(SEP);
}

function recordFields(record) {
  return row(record, "record", [
    (r) => field(r.key_id, "record.key_id"),
    (r) => field(r.tenant_id, "record.tenant_id"),
    (r) => optionalId(r.deployment_id, "record.deployment_id"),
    (r) => field(r.verifier, "record.verifier (hex)"),
    (r) => optionalSeconds(r.expires_at, "record.expires_at"),
    (r) => optionalSeconds(r.revoked_at, "record.revoked_at"),
  ]);
}

function bindingFields(binding) {
  return row(binding, "binding", [
    (b) => field(b.id, "binding.id"),
    (b) => field(b.tenant_id, "binding.tenant_id"),
    (b) => field(b.deployment_id, "binding.deployment_id"),
    (b) => field(b.connection_id, "binding.connection_id"),
  ]);
}

/** A sealed value holding NUL is not one: it is sent empty, which opens for no connection. */
function sealedField(sealed) {
  if (typeof sealed !== "string") throw new VendoError("connection.sealed must be a string");
  return sealed.includes(SEP) ? "" : sealed;
}

function connectionFields(c) {
  return [field(c.id, "connection.id"), field(c.tenant_id, "connection.tenant_id"), field(c.provider, "connection.provider")];
}

function providerConfigText(config) {
  if (config === null || typeof config !== "object") throw new VendoError("config must be an object");
  const { pepper, masters, rates = [] } = config;
  if (!Array.isArray(masters) || masters.length === 0) throw new VendoError("masters must be a non-empty array");
  if (!Array.isArray(rates)) throw new VendoError("rates must be an array");
  const parts = [field(pepper, "pepper (hex)"), String(masters.length)];
  for (const m of masters) {
    if (m === null || typeof m !== "object") throw new VendoError("each master key must be {kid, key}");
    parts.push(field(m.kid, "master key kid"), field(m.key, "master key (hex)"));
  }
  parts.push(String(rates.length));
  const price = (v, what) => (typeof v === "string" ? field(v, what) : u64(v, what));
  for (const r of rates) {
    if (r === null || typeof r !== "object") throw new VendoError("each rate must be {provider, model, input, output, max_output}");
    parts.push(field(r.provider, "rate provider"), field(r.model, "rate model"));
    parts.push(price(r.input, "rate input"), price(r.output, "rate output"));
    parts.push(r.max_output === null || r.max_output === undefined ? "" : u64(r.max_output, "rate max_output"));
  }
  return parts.join(SEP);
}

const denial = (f) => ({ ok: false, status: Number(f[1]), code: f[2] });

/** The provider proxy's side (SPEC §6–§9): API keys, sealed credentials, the call decision. */
export class ProviderGate {
  #wasm;

  constructor(module, config) {
    this.#wasm = new Module(module, "vendo_configure_provider", providerConfigText(config), "vendo_provider.wasm");
  }

  /** SPEC §6 steps 1–3: the presented key's id, to look its record up by. */
  keyId(request) {
    const f = this.#wasm.call("vendo_api_key_id", appendHeaders("", headerSource(request)));
    if (f === null) return BAD_REQUEST;
    return f[0] === "0" ? { ok: true, key_id: f[1] } : denial(f);
  }

  /** SPEC §6: the presented key checked against the record found under its id (or null). */
  checkKey(request, record, nowSeconds) {
    const text = seconds(nowSeconds, "nowSeconds") + SEP + recordFields(record);
    const f = this.#wasm.call("vendo_api_key", appendHeaders(text, headerSource(request)));
    if (f === null) return BAD_REQUEST;
    return f[0] === "0" ? { ok: true, key_id: f[1], tenant_id: f[2], deployment_id: f[3] || null } : denial(f);
  }

  /** A new key from 42 random bytes: give `api_key` to the tool once, store `key_id` and `verifier`. */
  mint(random) {
    const f = this.#wasm.must("vendo_mint_api_key", randomHex(random, "random"), "mint refused");
    return { api_key: f[1], key_id: f[2], verifier: f[3] };
  }

  /** SPEC §8: `credential` sealed to `connection` ({id, tenant_id, provider}) with a 12-byte random nonce. */
  seal(credential, connection, nonce) {
    if (connection === null || typeof connection !== "object") throw new VendoError("connection must be {id, tenant_id, provider}");
    const text = [randomHex(nonce, "nonce"), ...connectionFields(connection), field(credential, "credential")];
    return this.#wasm.must("vendo_seal", text.join(SEP), "seal refused")[1];
  }

  /** SPEC §8: the credential sealed to `connection`, or `credential_unreadable`. */
  unseal(sealed, connection) {
    if (connection === null || typeof connection !== "object") throw new VendoError("connection must be {id, tenant_id, provider}");
    const text = [...connectionFields(connection), sealedField(sealed)];
    const f = this.#wasm.must("vendo_unseal", text.join(SEP), "unseal refused");
    return f[0] === "0" ? { ok: true, credential: f[1] } : denial(f);
  }

  /** SPEC §7: forward (headers and target for the provider, credits to reserve) or deny; see vendo.d.ts. */
  forward(request, found, nowSeconds) {
    const p = providerRequest(request);
    if (found === null || typeof found !== "object") throw new VendoError("found must be {adapter, record, binding, connection, call}");
    const { adapter, record, binding, connection, call } = found;
    if (call === null || typeof call !== "object") throw new VendoError("call must be {model, body_bytes, max_tokens}");
    const text = [
      seconds(nowSeconds, "nowSeconds"),
      field(adapter, "adapter"),
      p.target,
      recordFields(record),
      bindingFields(binding),
      row(connection, "connection", [
        (c) => field(c.id, "connection.id"),
        (c) => field(c.tenant_id, "connection.tenant_id"),
        (c) => field(c.provider, "connection.provider"),
        (c) => sealedField(c.sealed),
      ]),
      field(call.model, "call.model"),
      u64(call.body_bytes, "call.body_bytes"),
      call.max_tokens === null || call.max_tokens === undefined ? "" : u64(call.max_tokens, "call.max_tokens"),
    ].join(SEP);
    const f = this.#wasm.call("vendo_provider_forward", appendHeaders(text, p));
    if (f === null) return BAD_REQUEST;
    if (f[0] !== "0") return denial(f);
    return new ProviderCall(p, f, readEdits(f, 5));
  }
}
