import { defineConfig } from 'vite';

// Static files for the gateway to serve at `/` (services/gateway/src/routes/dashboard-static.ts).
// No inline script or style ends up in index.html: the gateway's CSP allows only 'self'.
export default defineConfig({
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Hashed names under assets/: the gateway caches those for a year, index.html never.
    assetsDir: 'assets',
    // The polyfill would be an inline script; every supported browser has modulepreload.
    modulePreload: { polyfill: false },
    sourcemap: true,
  },
});
