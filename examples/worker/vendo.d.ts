// The JavaScript API of vendo-isolation for Cloudflare Workers (and any
// runtime with WebAssembly, `Request` and `Headers`): vendo.mjs over the
// crate's wasm builds, vendo_worker.wasm (`Vendo`, `AttestationVerifier`)
// and vendo_provider.wasm (`ProviderGate`).
//
// Every entry point takes and returns plain JavaScript values. Bad input
// is a `VendoError` (configuration, arguments of the wrong type, input
// larger than MAX_INPUT_BYTES) or a denial, never a WebAssembly trap: a
// trap discards the instance and the next call runs on a fresh one.

/** Largest encoded request, response or configuration accepted, in bytes. */
export const MAX_INPUT_BYTES: number;

/** A session key: `kid` (1–32 of `A-Za-z0-9_-`) and the key in hex (≥ 32 bytes). */
export interface SessionKeyConfig {
  kid: string;
  key: string;
}

/** Configuration, once per isolate. */
export interface VendoConfig {
  /** The apex every deployment host sits under. Default `vendo.run`. */
  apex?: string;
  /** The session cookie's name. Default `__Host-vendo_session`. */
  session_cookie?: string;
  /** Session keys, the primary (the one that mints) first. At least one. */
  session_keys: SessionKeyConfig[];
  /** The platform's attestation secret; omit to forward without attestation. */
  attestation?: { kid: string; secret: string };
  /** Replaces the reserved single-level labels (SPEC §2 step 8). */
  reserved?: string[];
  /** Clock leeway for session times, seconds. Default 60. */
  leeway_secs?: number;
  /** Longest session lifetime accepted, seconds. Default 604800. */
  max_lifetime_secs?: number;
  /** Re-issue a session with less than this left, seconds. Default 0 (never for age). */
  reissue_within_secs?: number;
}

/** What the routing store holds under a route key (SPEC §2). */
export interface RouteEntry {
  tenant_id: string;
  deployment_id: string;
  tenant_slug: string;
  deployment_slug: string;
}

/** A refusal: answer `status` with a plain-text body; log `code` (SPEC §5). */
export interface Denial {
  ok: false;
  status: number;
  code: string;
}

export type RouteKeyResult = { ok: true; key: string } | Denial;

/** Why the session should be re-issued now (`Set-Cookie` in `setCookie`). */
export type ReissueReason = "non_primary_key" | "near_expiry";

export interface Admitted {
  ok: true;
  /**
   * The headers to forward: the request's, stripped (SPEC §3 steps 1–3),
   * with the verified identity and the attestation set, and `host` set to
   * the upstream's authority when an upstream was given.
   */
  headers: Headers;
  /**
   * With `options.upstream`: the URL to fetch, the upstream's origin and
   * the request's target byte for byte, which is what the attestation
   * covers. Null without an upstream.
   */
  upstreamUrl: string | null;
  /**
   * The changes the crate made, for a caller that applies them to its own
   * copy: delete these names, then, for each name in `set`, replace it by
   * its pairs (lowercase names; one name's pairs are adjacent, so `set`
   * the first and `append` the rest).
   */
  changes: { delete: string[]; set: [string, string][] };
  /** The verified identity the headers carry. */
  session: { tenant_id: string; deployment_id: string; user_id: string; email: string };
  /** Non-null when the session should be replaced now. */
  reissue: ReissueReason | null;
  /** The replacement session's `Set-Cookie` value when `reissue` is set. */
  setCookie: string | null;
  /**
   * Spellings of the `x-vendo-` namespace the client sent (header names
   * and `Connection` tokens), for alerting. Empty for an honest browser.
   */
  spoofed: string[];
}

export type AdmitResult = Admitted | (Denial & { headers: Headers });

export interface AdmitOptions {
  /**
   * The origin the request is forwarded to (`http://127.0.0.1:9001`,
   * `https://crm.internal`). The attestation then covers that authority
   * and the request's path and query: exactly what the tool receives.
   * Without it, the attestation covers the request URL's host.
   */
  upstream?: string;
}

export interface FilteredResponse {
  /** The headers to relay to the browser (SPEC §3.3). */
  headers: Headers;
  /** `name: reason` of every `Set-Cookie` removed and every header name removed. */
  removed: string[];
  /** True when the tool tried something a well-behaved tool never does. */
  tampering: boolean;
}

export class VendoError extends Error {}

export class Vendo {
  /** Compiles nothing: `module` is the compiled vendo_worker.wasm. */
  constructor(module: WebAssembly.Module, config: VendoConfig);
  /** Step 1: the key to look up, from the request URL's host. */
  routeKey(request: Request): RouteKeyResult;
  /**
   * Step 2: admit (headers to forward) or deny, given the entry found under the key (or null).
   *
   * From a `Request`, only the headers the gate reads enter the module: `host`, `cookie`,
   * `origin`, `connection`, `sec-fetch-site`, `sec-fetch-mode` and `sec-fetch-dest` with
   * their values, and every name holding `vendo` (each spelling of the namespace the gate
   * removes whatever its value) without; the module names both when configured. The rest
   * are forwarded as they came, so they count neither against MAX_INPUT_BYTES nor as bad
   * input.
   */
  admit(request: Request, entry: RouteEntry | null, nowSeconds: number, options?: AdmitOptions): AdmitResult;
  /** Step 3: the tool's response headers that may reach the browser. */
  filterResponse(headers: Headers): FilteredResponse;
}

/** A deployment's attestation key, as the platform provisions it to the tool. */
export interface DeploymentKeyConfig {
  kid: string;
  deployment_id: string;
  /** 32 bytes, hex. */
  key: string;
}

export type AttestationResult =
  | {
      ok: true;
      identity: { tenant_id: string; deployment_id: string; user_id: string; email: string };
      kid: string;
      signedAt: number;
    }
  | { ok: false; code: string };

/** The tool's side (SPEC §3.1): was this request sent by the proxy? */
export class AttestationVerifier {
  constructor(
    module: WebAssembly.Module,
    keys: DeploymentKeyConfig[],
    options?: { maxAgeSecs?: number; skewSecs?: number },
  );
  verify(request: Request, nowSeconds: number): AttestationResult;
}

// The provider proxy (SPEC §6–§9): a tool calls `openai-proxy.{apex}` and
// the like with its deployment's `vk1_` API key; the proxy forwards the
// call with the tenant's own provider credential and holds credits for it.
// Ids and rows are as the store keeps them (snake_case, SPEC §10).

/** A master key that seals and opens connection credentials: `kid` (SPEC §4 syntax) and ≥ 32 bytes in hex. */
export interface MasterKeyConfig {
  kid: string;
  key: string;
}

/** One row of the shared rate table (SPEC §9): prices in micro-credits per million tokens. */
export interface RateConfig {
  provider: string;
  model: string;
  /** A decimal string, a safe integer or a bigint. */
  input: string | number | bigint;
  output: string | number | bigint;
  /** Output tokens held when a call names no `max_tokens`; without it such a call is `unknown_model`. */
  max_output?: number | bigint | null;
}

/** Configuration, once per isolate. */
export interface ProviderConfig {
  /** The API-key pepper (≥ 32 bytes, hex). It lives with the proxy, never in the key store. */
  pepper: string;
  /** Master keys, the one that seals first; all open (rotation). At most 8. */
  masters: MasterKeyConfig[];
  /** The rate table. Default empty: every call is `unknown_model`. */
  rates?: RateConfig[];
}

/** What the store keeps under a key id (SPEC §6), as looked up by `key_id` only. */
export interface ApiKeyRecord {
  key_id: string;
  tenant_id: string;
  /** Null for a tenant-wide key. */
  deployment_id: string | null;
  /** 32 bytes, hex. */
  verifier: string;
  /** Unix seconds, or null for never. */
  expires_at: number | null;
  revoked_at: number | null;
}

/** A binding as stored, found for (key tenant, deployment, adapter provider). */
export interface BindingRow {
  id: string;
  tenant_id: string;
  deployment_id: string;
  connection_id: string;
}

/** A connection as stored: whose it is and which provider it is for. */
export interface ConnectionIds {
  id: string;
  tenant_id: string;
  provider: string;
}

/** A connection row with its sealed credential (SPEC §8). */
export interface ConnectionRow extends ConnectionIds {
  sealed: string;
}

/** What the Worker looked up for one call, keyed on the tenant `checkKey` named. */
export interface ProviderLookup {
  /** `openai`, `openrouter`, `notion`, `anthropic` or `telegram` (SPEC §7). */
  adapter: string;
  /** The record found under the presented key's id, or null. */
  record: ApiKeyRecord | null;
  binding: BindingRow | null;
  connection: ConnectionRow | null;
  /** What the call asks for: the request body's length in bytes, and its `max_tokens` (or null). */
  call: { model: string; body_bytes: number | bigint; max_tokens: number | bigint | null };
}

/** The key's scope: every further lookup is keyed on `tenant_id`. */
export type KeyCheck = { ok: true; key_id: string; tenant_id: string; deployment_id: string | null } | Denial;

export interface ProviderForwarded {
  ok: true;
  /** The tenant to reserve against and debit: the key's. */
  tenant_id: string;
  /** The binding's deployment. */
  deployment_id: string;
  /** Micro-credits to reserve before forwarding (SPEC §9), a decimal string: a u64 exceeds a Number. */
  reserve: string;
  /** The path and query to request from the provider (Telegram's holds the credential: keep it out of logs). */
  target: string;
  /**
   * The request's headers for the provider: without the `x-vendo-`
   * namespace, `cookie` and every inbound credential header, with the
   * connection's credential as the adapter takes it. `Headers` for a
   * `Request` or `Headers` input, `[name, value]` pairs for pairs.
   */
  headers: Headers | [string, string][];
  /** The same as changes to the request's headers: delete these names, then set these pairs. */
  changes: { delete: string[]; set: [string, string][] };
}

/** A tool's call: a `Request` (its URL's path and query are the target), or its target and headers. */
export type ProviderRequest = Request | { target?: string; headers: Headers | [string, string][] };

/** The provider proxy's side (SPEC §6–§9). */
export class ProviderGate {
  /** `module` is the compiled vendo_provider.wasm. A bad pepper, key or rate is a VendoError. */
  constructor(module: WebAssembly.Module, config: ProviderConfig);
  /** SPEC §6 steps 1–3: the one presented key's id (`Authorization: Bearer` or `x-api-key`); look its record up by it. */
  keyId(request: Request | Headers | [string, string][]): { ok: true; key_id: string } | Denial;
  /** SPEC §6: the key checked against the record found under its id (null when none was). */
  checkKey(request: Request | Headers | [string, string][], record: ApiKeyRecord | null, nowSeconds: number): KeyCheck;
  /**
   * SPEC §6: a new key from 42 bytes of `crypto.getRandomValues`. Show
   * `api_key` to its owner once; store `key_id` and `verifier`, never the key.
   */
  mint(random: Uint8Array): { api_key: string; key_id: string; verifier: string };
  /** SPEC §8: `credential` (1–4096 bytes of visible ASCII) sealed to `connection`, with 12 fresh random bytes of nonce. */
  seal(credential: string, connection: ConnectionIds, nonce: Uint8Array): string;
  /** SPEC §8: the credential sealed to `connection`, or `credential_unreadable` (500). */
  unseal(sealed: string, connection: ConnectionIds): { ok: true; credential: string } | Denial;
  /**
   * SPEC §7: the whole decision for one call, in order: the key, the
   * binding and connection (403s), the credential (500), the price (400).
   * The caller then reserves `reserve` against `tenant_id` (its store
   * answers `insufficient_credits`, 402), forwards, and settles (SPEC §9).
   */
  forward(request: ProviderRequest, found: ProviderLookup, nowSeconds: number): ProviderForwarded | Denial;
}
