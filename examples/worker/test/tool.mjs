// An upstream tool for the end-to-end tests: a node:http server on
// 127.0.0.1 (port 0) that stands for one deployment's compute backend.
//
// For every request it verifies `x-vendo-attestation` with its own
// deployment key (spec_crypto.mjs, SPEC §3.1) and records what it received:
// method, target, every header as a [name, value] list in arrival order,
// the body, and the verification result. Like a real tool it refuses a
// request whose attestation fails (401, body `<code>\n`), unless started
// with `requireAttestation: false`; otherwise it answers by path:
//
//   /set-cookie/domain    Set-Cookie planted=1; Domain=vendo.run, and a host-only pref=1
//   /set-cookie/session   Set-Cookie naming the session cookie, and pref=1
//   /set-cookie/hostile   every response header SPEC §3.3 removes, between ones it keeps
//   /respond/<b64u JSON>  200 with exactly the headers [[name, value], ...] encoded in the path
//   /redirect             302 to /echo?from=redirect (a proxy must relay it, not follow it)
//   /status/NNN           an empty answer with status NNN
//   /bytes/N              N deterministic bytes, written in several chunks
//   anything else         200, JSON of what was received (the echo)

import http from "node:http";
import { createHash } from "node:crypto";
import { b64uDecode, verifyAttestation } from "./spec_crypto.mjs";

/** What /set-cookie/hostile answers, and what of it SPEC §3.3 lets through. */
export const HOSTILE = {
  headers: [
    ["Set-Cookie", "planted=1; Domain=vendo.run; Path=/"],
    ["Set-Cookie", "pref=1; Path=/"],
    ["Set-Cookie", "lower=1; path=/; domain=.vendo.run"],
    ["Set-Cookie", "spaced=1; Secure;  DOMAIN = acme-crm.vendo.run "],
    ["Set-Cookie", "__Host-vendo_session=forged; Path=/; Secure; HttpOnly"],
    ["Set-Cookie", "__host-VENDO_SESSION=forged; Path=/; Secure"],
    ["Set-Cookie", "x__Host-vendo_session_y=1; Path=/"],
    ["Set-Cookie", "theme=dark; Path=/; HttpOnly; SameSite=Lax"],
    ["Set-Cookie2", "legacy=1; Version=1"],
    ["X-Vendo-User-Id", "u_admin"],
    ["x_vendo_tenant_id", "t_evil"],
    ["X.Vendo.Attestation", "v1.a1.0.x"],
    ["X-Vendor-Trace", "kept"],
    ["Content-Type", "text/plain"],
  ],
  keptCookies: ["pref=1; Path=/", "theme=dark; Path=/; HttpOnly; SameSite=Lax"],
  keptOther: [["x-vendor-trace", "kept"], ["content-type", "text/plain"]],
};

/** The deterministic bytes /bytes/N answers. */
export function patternBytes(n) {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + (i >> 8)) & 0xff;
  return out;
}

function pairs(rawHeaders) {
  const out = [];
  for (let i = 0; i < rawHeaders.length; i += 2) out.push([rawHeaders[i], rawHeaders[i + 1]]);
  return out;
}

/**
 * Starts a tool for one deployment.
 * options: { name, deploymentId, keys: [{ kid, key: bytes }], now: () => unix seconds,
 *   requireAttestation = true }
 * Returns { name, url, authority, port, records, clear(), close() }.
 */
export async function startTool({ name, deploymentId, keys, now, requireAttestation = true }) {
  const records = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      try {
        const headers = pairs(req.rawHeaders);
        const body = Buffer.concat(chunks);
        const attestation = await verifyAttestation(
          { method: req.method, target: req.url, headers },
          { keys, deploymentId, now: now() },
        );
        const record = { method: req.method, url: req.url, headers, body, attestation };
        records.push(record);
        answer(req, res, record, requireAttestation);
      } catch (e) {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(`tool error: ${e && e.stack}\n`);
      }
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address();
  const authority = `127.0.0.1:${port}`;
  return {
    name,
    deploymentId,
    port,
    authority,
    url: `http://${authority}`,
    records,
    clear() {
      records.length = 0;
    },
    close() {
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function answer(req, res, record, requireAttestation) {
  if (requireAttestation && !record.attestation.ok) {
    res.writeHead(401, { "content-type": "text/plain" });
    res.end(`${record.attestation.code}\n`);
    return;
  }
  const path = req.url.split("?")[0];
  if (path === "/set-cookie/domain") {
    res.writeHead(200, ["Set-Cookie", "planted=1; Domain=vendo.run", "Set-Cookie", "pref=1; Path=/", "Content-Type", "text/plain"]);
    res.end("domain\n");
  } else if (path === "/set-cookie/session") {
    res.writeHead(200, ["Set-Cookie", "__Host-vendo_session=forged; Path=/; Secure; HttpOnly", "Set-Cookie", "pref=1; Path=/", "Content-Type", "text/plain"]);
    res.end("session\n");
  } else if (path === "/set-cookie/hostile") {
    res.writeHead(200, HOSTILE.headers.flat());
    res.end("hostile\n");
  } else if (path.startsWith("/respond/")) {
    const bytes = b64uDecode(path.slice("/respond/".length));
    const headers = bytes === null ? null : JSON.parse(new TextDecoder().decode(bytes));
    if (!Array.isArray(headers)) {
      res.writeHead(400, { "content-type": "text/plain" });
      res.end("bad /respond/ path\n");
      return;
    }
    res.writeHead(200, headers.flat());
    res.end();
  } else if (path === "/redirect") {
    res.writeHead(302, { location: "/echo?from=redirect", "content-type": "text/plain" });
    res.end("see /echo\n");
  } else if (/^\/status\/[1-5][0-9][0-9]$/.test(path)) {
    res.writeHead(Number(path.slice(8)), { "content-type": "text/plain" });
    res.end();
  } else if (/^\/bytes\/[0-9]{1,8}$/.test(path)) {
    const data = patternBytes(Number(path.slice(7)));
    res.writeHead(200, { "content-type": "application/octet-stream" });
    const step = 16384;
    let at = 0;
    const more = () => {
      while (at < data.length) {
        const chunk = data.subarray(at, at + step);
        at += step;
        if (!res.write(chunk)) return res.once("drain", more);
      }
      res.end();
    };
    more();
  } else {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        method: record.method,
        url: record.url,
        headers: record.headers,
        bodyLength: record.body.length,
        bodySha256: createHash("sha256").update(record.body).digest("hex"),
        attestation: record.attestation,
      }),
    );
  }
}
