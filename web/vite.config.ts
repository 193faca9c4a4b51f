import { defineConfig } from "vite";

// Everything is bundled into dist/ (served by `python -m devhost serve` at /, and by
// Azure Static Web Apps in the cloud); nothing is fetched from a CDN at run time.
export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 800, sourcemap: false },
});
