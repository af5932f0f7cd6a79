// Bundles the library and the CLI into dist/ with esbuild.
import { build } from "esbuild";
import { chmodSync } from "node:fs";
import { bundleOptions } from "./esbuild-options.mjs";

await build({ ...bundleOptions, entryPoints: ["src/index.ts"], outfile: "dist/index.js" });
await build({
  ...bundleOptions,
  entryPoints: ["src/cli/main.ts"],
  outfile: "dist/cli.js",
  banner: { js: "#!/usr/bin/env node" },
});
chmodSync("dist/cli.js", 0o755);
console.log("built dist/index.js and dist/cli.js");
