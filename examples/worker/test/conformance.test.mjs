// Every public vector file through conformance.mjs (the JavaScript API and
// the wasm module) as a child process speaking SPEC §5's protocol, held to
// the vectors' expected answers exactly as tests/conformance.rs holds the
// Rust runner: header order across names is not significant, the order of
// one name's values is.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import test from "node:test";
import { fileURLToPath } from "node:url";
import { providerWasmPath } from "./provider_wasm.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const vectors = join(here, "../../../tests/vectors");
const runner = join(here, "../conformance.mjs");

function normalize(op, answer) {
  if (["forward", "strip", "filter_response", "provider_forward"].includes(op) && Array.isArray(answer.ok?.headers)) {
    // Array.prototype.sort is stable.
    answer.ok.headers = [...answer.ok.headers].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
  return answer;
}

const files = readdirSync(vectors).filter((f) => f.endsWith(".jsonl"));
const providerWasm = providerWasmPath();

test("there are vector files to run, the SPEC §10 ones among them", () => {
  assert.ok(files.length >= 9, files.join(", "));
  for (const f of ["api_key.jsonl", "sealing.jsonl", "provider_forward.jsonl"]) assert.ok(files.includes(f), f);
});

for (const file of files) {
  test(`tests/vectors/${file} passes through the wasm`, () => {
    const input = readFileSync(join(vectors, file), "utf8");
    const cases = input.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
    // Garbage between the vectors must be answered in place, not end the run.
    const lines = cases.flatMap((c) => [JSON.stringify(c), "not json"]);
    const env = { ...process.env, VENDO_PROVIDER_WASM: providerWasm };
    const run = spawnSync(process.execPath, [runner], { input: `${lines.join("\n")}\n`, encoding: "utf8", env });
    assert.equal(run.status, 0, run.stderr);
    const answers = run.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(answers.length, cases.length * 2);
    cases.forEach((c, i) => {
      const got = normalize(c.op, answers[2 * i]);
      assert.deepEqual(got, normalize(c.op, { id: c.id, ...c.expect }), `${c.id}: ${c.why ?? ""}`);
      assert.deepEqual(answers[2 * i + 1], { id: null, error: "bad_request" });
    });
  });
}
