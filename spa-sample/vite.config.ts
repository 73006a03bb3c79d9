import { defineConfig } from 'vitest/config';

// During front-end development the SPA runs on Vite's dev server and everything that belongs to
// the gateway is forwarded to it, so the browser still sees a single origin (cookies stay
// first-party, no CORS). The gateway builds its OIDC redirect URIs from the Host header, which
// Vite keeps (changeOrigin: false), so the demo provider also registers the dev-server origin.
const gateway = process.env.BFF_GATEWAY_URL ?? 'http://localhost:5080';
const forward = { target: gateway, changeOrigin: false, xfwd: false };

export default defineConfig({
  server: {
    port: 5173,
    strictPort: true,
    proxy: {
      '/bff': forward,
      '/api': forward,
      '/signin-oidc': forward,
      '/signout-callback-oidc': forward,
    },
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    sourcemap: false,
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
