// Bundles the library and the CLI into dist/ with esbuild.
import { build } from "esbuild";
import { chmodSync } from "node:fs";

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  // Inlines constants across modules: the hot path reads them as literals.
  minifySyntax: true,
  logLevel: "warning",
};

await build({ ...common, entryPoints: ["src/index.ts"], outfile: "dist/index.js" });
await build({
  ...common,
  entryPoints: ["src/cli/main.ts"],
  outfile: "dist/cli.js",
  banner: { js: "#!/usr/bin/env node" },
});
chmodSync("dist/cli.js", 0o755);
console.log("built dist/index.js and dist/cli.js");
