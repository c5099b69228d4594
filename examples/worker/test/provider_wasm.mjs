// The provider proxy's module (provider/, vendo_provider.wasm) for the
// suites that use it, built here when VENDO_PROVIDER_WASM names none:
// tests/worker_runtime.rs and `npm test` build the app proxy's module
// before running these suites, and cargo makes this a no-op when the
// provider's is already fresh.

import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const crate = join(dirname(fileURLToPath(import.meta.url)), "../provider");

/** The path of a vendo_provider.wasm built from the current sources. */
export function providerWasmPath() {
  if (process.env.VENDO_PROVIDER_WASM) return process.env.VENDO_PROVIDER_WASM;
  const env = { ...process.env };
  // An outer cargo's settings are for its own build, not this module.
  delete env.RUSTFLAGS;
  delete env.CARGO_TARGET_DIR;
  const build = spawnSync(process.env.CARGO ?? "cargo", ["build", "--release", "--quiet", "--target", "wasm32-unknown-unknown"], {
    cwd: crate,
    env,
    encoding: "utf8",
  });
  if (build.status !== 0) throw new Error(`building provider/ failed: ${build.error?.message ?? build.stderr}`);
  return join(crate, "target/wasm32-unknown-unknown/release/vendo_provider.wasm");
}
