import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WEB_DIST } from '../src/http/web.js';

/**
 * Tests that need the browser apps (console, account) call this before building the app: it runs
 * `npm run build:web` (two `vite build`s, a few seconds) once when dist/web/ lacks them. `npm ci`
 * (prepare) and `npm run build` make them too, so in CI this finds them there and returns. A build
 * older than any file under web/ is made again (so a page edited since the last build is tested).
 */
const ROOT = fileURLToPath(new URL('../', import.meta.url));
let built = false;
const SERVER_FILES = ['src/identity/admin_scopes.ts', 'src/identity/redirect_uris.ts'];

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function upToDate(): boolean {
  const outs = ['console', 'account'].map((a) => `${WEB_DIST}${a}/index.html`);
  if (!outs.every((f) => existsSync(f))) return false;
  // web/ and the server files the apps import (the scope table, the redirect URI rules).
  const source = Math.max(newest(`${ROOT}web`), ...SERVER_FILES.map((f) => statSync(`${ROOT}${f}`).mtimeMs));
  return outs.every((f) => statSync(f).mtimeMs >= source);
}

export function ensureWebBuild(): void {
  if (built || upToDate()) {
    built = true;
    return;
  }
  execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '--silent', 'build:web'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  built = true;
}
