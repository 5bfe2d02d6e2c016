import { defineConfig } from 'vite';

declare const process: { env: Record<string, string | undefined> };

// FVCE_WEB_OUT_DIR: where the build writes the app (CMake passes <build>/web/dist).
// FVCE_WEB_API: a node to forward /api to while developing with `npm run dev`.
const outDir = process.env.FVCE_WEB_OUT_DIR ?? 'dist';
const api = process.env.FVCE_WEB_API ?? 'http://127.0.0.1:7701';

export default defineConfig({
  base: './',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2020',
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
    reportCompressedSize: true,
  },
  server: {
    proxy: { '/api': { target: api, ws: true, changeOrigin: false } },
  },
});
