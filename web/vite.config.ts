// One Vite config for both browser apps (issue 11). `vite build -c web/vite.config.ts --mode console`
// builds web/console/ into dist/web/console/, `--mode account` web/account/ into dist/web/account/.
// base './' makes every URL in index.html relative, so one build serves /console/ and
// /domains/NAME/console/ alike. No inline script or style is emitted (the CSP forbids them).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const APPS = ['console', 'account'];

export default defineConfig(({ mode }) => {
  if (!APPS.includes(mode)) throw new Error(`--mode must be one of ${APPS.join(', ')}`);
  const here = fileURLToPath(new URL('.', import.meta.url));
  return {
    root: `${here}${mode}`,
    base: './',
    publicDir: false,
    logLevel: 'warn',
    oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
    build: {
      outDir: `${here}../dist/web/${mode}`,
      emptyOutDir: true,
      target: 'es2022',
      // Never inline assets as data: URLs into scripts or styles; keep the module preload polyfill out (no inline script).
      assetsInlineLimit: 0,
      modulePreload: { polyfill: false },
      reportCompressedSize: true,
    },
  };
});
