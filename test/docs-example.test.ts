// The example in docs/getting-started.md, run as written (with "cr3" pointing
// at src/index.ts), must print what its comments say.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

describe("docs/getting-started.md", () => {
  it("the library example runs and prints what its comments promise", () => {
    const doc = readFileSync("docs/getting-started.md", "utf8");
    const block = /```ts\n([\s\S]*?)```/.exec(doc);
    expect(block, "a ```ts block").not.toBeNull();
    const code = block![1].replace(/from "cr3"/, `from ${JSON.stringify(resolve("src/index.ts"))}`);
    const file = join(mkdtempSync(join(tmpdir(), "cr3-doc-")), "example.ts");
    writeFileSync(file, code);
    const run = spawnSync(process.execPath, ["--import", "tsx", file], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    const promised = [...code.matchAll(/console\.log\([^\n]*\/\/ (.*)$|^\s*\/\/ (#PF .*)$/gm)].map((m) => (m[1] ?? m[2]).trim());
    expect(promised.length).toBeGreaterThanOrEqual(2);
    expect(run.stdout.trim().split("\n")).toEqual(promised);
  });
});
