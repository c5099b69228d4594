// The JavaScript API of vendo-isolation for Cloudflare Workers (and any
// runtime with WebAssembly, `Request` and `Headers`): vendo.mjs over the
// crate's wasm build, vendo_worker.wasm.
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
  /** The changes the crate made, for a caller that applies them to its own copy. */
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
  /** Step 2: admit (headers to forward) or deny, given the entry found under the key (or null). */
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
