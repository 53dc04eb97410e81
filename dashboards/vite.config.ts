import { defineConfig } from "vite";

// `npm run dev` proxies the API of a locally running adhouse-api.
export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 400 },
  server: { proxy: { "/api": process.env.ADHOUSE_API_URL ?? "http://127.0.0.1:8080" } },
});
