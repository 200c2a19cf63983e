// The web app's build: React, and a service worker (Workbox, through vite-plugin-pwa) that caches
// the app shell so the app opens with no network; the list data lives in IndexedDB.
import { defaultClientConditions, defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { VitePWA } from 'vite-plugin-pwa';

export default defineConfig({
  root: import.meta.dirname,
  // The shared packages are bundled from their TypeScript sources (their `source` export), so the
  // app never waits on, or goes stale against, their compiled dist/.
  resolve: { conditions: ['source', ...defaultClientConditions] },
  plugins: [
    react(),
    VitePWA({
      registerType: 'autoUpdate',
      injectRegister: false,
      includeAssets: ['icon.svg'],
      manifest: {
        name: 'Trolley — shared shopping lists',
        short_name: 'Trolley',
        description: 'Shopping lists you share by link. Works offline.',
        theme_color: '#1f6f43',
        background_color: '#ffffff',
        display: 'standalone',
        start_url: './',
        scope: './',
        icons: [
          { src: 'icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' },
          { src: 'icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: 'icon-512.png', sizes: '512x512', type: 'image/png' },
        ],
      },
      workbox: {
        globPatterns: ['**/*.{js,css,html,svg,png,webmanifest}'],
        navigateFallback: 'index.html',
        navigateFallbackDenylist: [/^\/sync/, /^\/healthz/],
        cleanupOutdatedCaches: true,
      },
    }),
  ],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1_000 },
});
