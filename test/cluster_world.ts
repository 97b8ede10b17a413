/**
 * `tessera serve` with TESSERA_WORKERS as a real process tree (primary + node:cluster workers), for the
 * cluster tests. Its `harness` sends the requests of test/helpers.ts and test/signin.ts over HTTP, each
 * on a new connection (so a killed worker's kept-alive socket cannot fail a later request), with the
 * issuer at helpers' ISSUER, so those helpers (adminToken, setupClient, Browser, signIn...) work unchanged.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import type { Tessera } from '../src/http/app.js';
import { BOOT_ID, BOOT_SECRET, ISSUER, type Harness } from './helpers.js';

const CLI = join(import.meta.dirname, '../src/cli/index.ts');

export interface LogLine { pid: number; level: number; msg: string }

export interface Cluster {
  port: number;
  child: ChildProcess;
  logs: LogLine[];
  harness: Harness;
  /** Pids that logged "Server listening" (workers, in start order; replacements are appended). */
  workerPids(): number[];
  waitFor(what: string, pred: (l: LogLine[]) => boolean, ms?: number): Promise<void>;
  /** Resolves with the primary's exit code and how long it took after `signal`. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: string | null; ms: number }>;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); }); });
}

export async function startCluster(env: Record<string, string>, o: { workers?: number; startMs?: number } = {}): Promise<Cluster> {
  const workers = o.workers ?? 2;
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve'], {
    env: {
      PATH: process.env.PATH ?? '', TESSERA_WORKERS: String(workers), PORT: String(port), HOST: '127.0.0.1', TESSERA_PUBLIC_URL: ISSUER,
      TESSERA_BOOTSTRAP_CLIENT_ID: BOOT_ID, TESSERA_BOOTSTRAP_CLIENT_SECRET: BOOT_SECRET, TESSERA_LOG_LEVEL: 'info',
      // Each worker has its own caches, kept as in production (TESSERA_CACHE_TTL_SECONDS 5 s): what one worker
      // changes reaches the others through the change feed, and admin writes read the catalog from the store.
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const raw: string[] = [];
  let partial = '';
  const read = (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop()!;
    for (const p of parts) {
      raw.push(p);
      try { const j = JSON.parse(p) as LogLine; logs.push({ pid: j.pid, level: j.level, msg: String(j.msg) }); } catch { /* not a log line */ }
    }
  };
  child.stdout!.on('data', read);
  child.stderr!.on('data', read);
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let gone = false;
  void exited.then(() => { gone = true; });
  const waitFor = async (what: string, pred: (l: LogLine[]) => boolean, ms = 30_000) => {
    const until = Date.now() + ms;
    while (!pred(logs)) {
      if (gone) assert.fail(`the server exited while waiting for ${what}:\n${raw.slice(-30).join('\n')}`);
      if (Date.now() > until) assert.fail(`timed out waiting for ${what}:\n${raw.slice(-30).join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const workerPids = () => [...new Set(logs.filter((l) => l.msg.startsWith('Server listening at')).map((l) => l.pid))];
  await waitFor(`${workers} workers listening`, (l) => l.some((x) => x.msg === `${workers} workers listening on http://127.0.0.1:${port}`), o.startMs ?? 60_000);
  const inject = ((opts: { method?: string; url: string; headers?: Record<string, string>; payload?: string }) => httpRequest(port, opts)) as unknown as Tessera['app']['inject'];
  const harness: Harness = { t: undefined as unknown as Tessera, clock: { now: () => Date.now() }, inject, close: async () => {} };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const t0 = Date.now();
    if (!gone) child.kill(signal);
    const r = await Promise.race([exited, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no exit within 30 s of ${signal}`)), 30_000))]);
    return { ...r, ms: Date.now() - t0 };
  };
  return { port, child, logs, harness, workerPids, waitFor, stop, exited };
}

/** One request on a new connection; the answer in the shape of Fastify's inject response (what the helpers read). */
export function httpRequest(port: number, o: { method?: string; url: string; headers?: Record<string, string>; payload?: string }): Promise<LightMyRequestResponse> {
  return new Promise((resolve, reject) => {
    const body = o.payload === undefined ? undefined : Buffer.from(o.payload);
    const req = request({
      host: '127.0.0.1', port, method: o.method ?? 'GET', path: o.url, agent: false,
      headers: { ...(o.headers ?? {}), ...(body ? { 'content-length': String(body.length) } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: text, payload: text, json: () => JSON.parse(text) as unknown } as unknown as LightMyRequestResponse);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error('request timed out')));
    req.end(body);
  });
}
