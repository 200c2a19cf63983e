// The web app's build: React, and a service worker (Workbox, through vite-plugin-pwa) that caches
// the app shell so the app opens with no network; the list data lives in IndexedDB.
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { VitePWA } from 'vite-plugin-pwa';

/**
 * Writes each text file of the build also as .br and .gz, at the highest levels (once, at build
 * time), for the gateway to send to browsers that accept them. Runs after the service worker is
 * written (enforce: 'post'), so that sw.js is compressed too.
 */
function precompress(): Plugin {
  const compressible = /\.(js|mjs|css|html|svg|json|webmanifest|txt)$/;
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
  return {
    name: 'trolley-precompress',
    apply: 'build',
    enforce: 'post',
    closeBundle: {
      order: 'post',
      sequential: true,
      handler() {
        const outDir = join(import.meta.dirname, 'dist');
        for (const file of walk(outDir)) {
          if (!compressible.test(file)) continue;
          const bytes = readFileSync(file);
          if (bytes.length < 1024) continue;
          writeFileSync(
            `${file}.br`,
            brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
          );
          writeFileSync(`${file}.gz`, gzipSync(bytes, { level: 9 }));
        }
      },
    },
  };
}

/**
 * Puts the app's stylesheet into index.html as a <style> block, so that the first paint (the
 * header index.html holds) waits for one request, not two: on a phone's network each is a round
 * trip. The gateway allows the block by its SHA-256 in its Content-Security-Policy (server/
 * gateway.ts). Only the shoppers' page: the operator page keeps its stylesheet.
 */
function inlineAppCss(): Plugin {
  return {
    name: 'trolley-inline-app-css',
    apply: 'build',
    enforce: 'post',
    generateBundle(_options, bundle) {
      const page = bundle['index.html'];
      if (page?.type !== 'asset' || typeof page.source !== 'string') return;
      page.source = page.source.replace(
        /<link rel="stylesheet"(?: crossorigin)? href="\/(assets\/[^"]+\.css)">/g,
        (link, name: string) => {
          const sheet = bundle[name];
          if (sheet?.type !== 'asset') return link;
          const css =
            typeof sheet.source === 'string' ? sheet.source : new TextDecoder().decode(sheet.source);
          if (css.includes('</style')) return link;
          delete bundle[name];
          return `<style>${css.trim()}</style>`;
        },
      );
    },
  };
}

export default defineConfig({
  root: import.meta.dirname,
  // The shared packages are bundled from their TypeScript sources (their `source` export), so the
  // app never waits on, or goes stale against, their compiled dist/.
  // The app is written against React's API and types; in the browser it runs on Preact's
  // compatibility layer (preact/compat), a tenth of react-dom's size: less JavaScript to fetch and
  // run before the first screen on a phone.
  resolve: {
    conditions: ['source', ...defaultClientConditions],
    alias: [
      { find: /^react-dom\/client$/, replacement: 'preact/compat/client' },
      { find: /^react-dom$/, replacement: 'preact/compat' },
      { find: /^react\/jsx-runtime$/, replacement: 'preact/jsx-runtime' },
      { find: /^react\/jsx-dev-runtime$/, replacement: 'preact/jsx-dev-runtime' },
      { find: /^react$/, replacement: 'preact/compat' },
    ],
  },
  plugins: [
    react(),
    inlineAppCss(),
    precompress(),
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
        // The operator page is not the shoppers' app: never cached on their devices.
        globIgnores: ['operator.html', 'assets/operator-*'],
        navigateFallback: 'index.html',
        navigateFallbackDenylist: [/^\/sync/, /^\/healthz/, /^\/operator/],
        cleanupOutdatedCaches: true,
      },
    }),
  ],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1_000,
    // No module-preload polyfill: shared by two pages it would be a chunk of its own, one more
    // request on the shoppers' first load. Browsers without modulepreload (Safari before 17) only
    // fetch a lazy chunk's imports after it, instead of with it.
    modulePreload: { polyfill: false },
    // Two pages: the app, and the operators' cluster page (its own entry and chunk, which the
    // gateway serves only at /operator, behind the token).
    rollupOptions: {
      input: {
        index: join(import.meta.dirname, 'index.html'),
        operator: join(import.meta.dirname, 'operator.html'),
      },
    },
  },
});
