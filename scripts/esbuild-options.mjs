// esbuild options shared by the build and the benchmarks, so the benchmarks
// measure the code users run.
export const bundleOptions = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  // Inlines constants across modules: the hot path reads them as literals.
  minifySyntax: true,
  logLevel: "warning",
};
