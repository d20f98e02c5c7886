/**
 * Vite config for the Vue SPA: the app lives in frontend/ and builds to frontend/dist, which the
 * Worker serves as static assets on the same origin as /api. `vite dev` proxies the Worker's
 * paths to `npm start` on 127.0.0.1:8787 so relative /api URLs work in both modes.
 */
import { fileURLToPath } from "node:url";
import tailwindcss from "@tailwindcss/vite";
import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vite";

const workerOrigin = process.env.CMB_WORKER_ORIGIN ?? "http://127.0.0.1:8787";

export default defineConfig({
  root: fileURLToPath(new URL("./frontend", import.meta.url)),
  plugins: [vue(), tailwindcss()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
  },
  server: {
    proxy: {
      "/api": workerOrigin,
      "/health": workerOrigin,
    },
  },
});
