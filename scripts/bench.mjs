// Runs a benchmark from benches/ as users run cr3: bundled by esbuild with
// the build's options (scripts/esbuild-options.mjs), then executed by node.
// Usage: node scripts/bench.mjs [name] [section]   (name defaults to "mmu")
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { bundleOptions } from "./esbuild-options.mjs";

const [name = "mmu", ...rest] = process.argv.slice(2);
const outfile = `dist/bench/${name}.bench.mjs`;
await build({ ...bundleOptions, entryPoints: [`benches/${name}.bench.ts`], outfile });
const run = spawnSync(process.execPath, [outfile, ...rest], { stdio: "inherit" });
process.exit(run.status ?? 1);
