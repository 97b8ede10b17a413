import cluster from 'node:cluster';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import type { AuditEventRecord } from '../core/types.js';
import { safeEqual } from '../crypto/secrets.js';
import type { SecurityEvents } from '../events/emitter.js';
import { isStoreUnavailable } from '../storage/errors.js';
import { createHttpServer } from './server.js';

/**
 * Prometheus metrics (prom-client), one set per app: no module-level registry, so several apps in one
 * process (tests) count apart. Two registries, because they aggregate differently across cluster workers:
 * - `registry`: what Tessera counts (requests, tokens, failures, audit queue). No worker label, so the
 *   primary's AggregatorRegistry sums each series over the workers.
 * - `processRegistry`: prom-client's default metrics (CPU, memory, heap, GC, event-loop lag), labelled with
 *   the cluster worker id, so each worker's process stays a series of its own after aggregation.
 */
export class TesseraMetrics {
  readonly registry = new Registry();
  readonly processRegistry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly duration: Histogram<'method' | 'route' | 'status'>;
  private readonly tokens: Counter<'grant_type' | 'domain'>;
  private readonly clientAuthFailures: Counter<'domain'>;
  private readonly loginFailures: Counter<'domain'>;
  private readonly storeErrors: Counter<'route'>;
  /** Labelled children by "method route status": prom-client hashes the labels on every call otherwise. */
  private readonly children = new Map<string, { count: { inc(): void }; time: { observe(v: number): void } }>();
  /** Domain ids seen on requests, to their names: events carry the id, operators read names. */
  private readonly domainNames = new Map<string, string>();

  constructor(o: { worker?: string } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'tessera_http_requests_total', help: 'HTTP requests answered, by method, route pattern and status.', labelNames: ['method', 'route', 'status'], registers });
    this.duration = new Histogram({
      name: 'tessera_http_request_duration_seconds', help: 'Time from the request\'s arrival to its response, by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'], registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.tokens = new Counter({ name: 'tessera_tokens_issued_total', help: 'Tokens issued (token.issued events), by grant type (implicit for the authorization endpoint) and identity domain.', labelNames: ['grant_type', 'domain'], registers });
    this.clientAuthFailures = new Counter({ name: 'tessera_client_auth_failures_total', help: 'Failed client authentications (client_auth.failed events), by identity domain.', labelNames: ['domain'], registers });
    this.loginFailures = new Counter({ name: 'tessera_login_failures_total', help: 'Failed user sign-ins (user.login.failed events), by identity domain.', labelNames: ['domain'], registers });
    this.storeErrors = new Counter({ name: 'tessera_store_errors_total', help: 'Requests that failed because the store was unavailable (answered 503), by route pattern.', labelNames: ['route'], registers });
    collectDefaultMetrics({ register: this.processRegistry, ...(o.worker !== undefined ? { labels: { worker: o.worker } } : {}) });
  }

  /** Count every request, the security events, store errors and the audit queue of one app. */
  install(app: FastifyInstance, events: SecurityEvents): void {
    const registers = [this.registry];
    new Gauge({ name: 'tessera_audit_queue_depth', help: 'Audit events waiting to be written to the store.', registers, collect() { this.set(events.queued); } });
    events.on((e) => this.onEvent(e));
    // Runs after the domain scope's onRequest hook has resolved the domain, before the handler emits its events.
    app.addHook('preHandler', (req, _reply, done) => {
      const d = req.tessera?.domain;
      if (d && this.domainNames.get(d.id) !== d.name) this.domainNames.set(d.id, d.name);
      done();
    });
    app.addHook('onError', (req, _reply, err, done) => {
      if (isStoreUnavailable(err)) this.storeErrors.inc({ route: routeOf(req) });
      done();
    });
    app.addHook('onResponse', (req, reply, done) => {
      this.observe(req.method, routeOf(req), reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`;
    let c = this.children.get(key);
    if (!c) {
      const labels = { method, route, status: String(status) };
      c = { count: this.requests.labels(labels), time: this.duration.labels(labels) };
      // Routes are patterns and methods and statuses are few, so this stays small; the cap is a backstop.
      if (this.children.size < 10_000) this.children.set(key, c);
    }
    c.count.inc();
    c.time.observe(seconds);
  }

  private onEvent(e: AuditEventRecord): void {
    switch (e.eventId) {
      case 'token.issued': {
        const g = e.details?.grant_type;
        this.tokens.inc({ grant_type: typeof g === 'string' ? g : e.details?.response_type !== undefined ? 'implicit' : 'unknown', domain: this.domainOf(e) });
        break;
      }
      case 'client_auth.failed': this.clientAuthFailures.inc({ domain: this.domainOf(e) }); break;
      case 'user.login.failed': this.loginFailures.inc({ domain: this.domainOf(e) }); break;
    }
  }

  private domainOf(e: AuditEventRecord): string { return this.domainNames.get(e.domainId) ?? e.domainId; }

  get contentType(): string { return this.registry.contentType; }

  /** This process's metrics in the Prometheus text format (the two registries share no metric name). */
  async text(): Promise<string> {
    const [a, b] = await Promise.all([this.registry.metrics(), this.processRegistry.metrics()]);
    return `${a}\n${b}`;
  }

  /**
   * In a cluster worker: answer the primary's request for this process's metrics (as prom-client JSON, which
   * the primary sums with its own through `AggregatorRegistry.aggregate`; see startPrimaryMetrics).
   */
  enableClusterWorker(): void {
    process.on('message', (m: unknown) => {
      if (typeof m !== 'object' || m === null || (m as Gather).type !== GATHER || !process.send) return;
      const id = (m as Gather).id;
      Promise.all([this.registry.getMetricsAsJSON(), this.processRegistry.getMetricsAsJSON()]).then(
        (metrics) => process.send?.({ type: GATHERED, id, metrics } satisfies Gathered),
        (e: Error) => process.send?.({ type: GATHERED, id, error: e.message } satisfies Gathered),
      );
    });
  }
}

const routeOf = (req: FastifyRequest): string => req.routeOptions.url ?? '(unmatched)';

/** Label for the process metrics of this process: the cluster worker id, none outside a cluster. */
export const workerLabel = (): string | undefined => (cluster.isWorker && cluster.worker ? String(cluster.worker.id) : undefined);

/** Is /metrics served at all: on the public port (bearer secret), or on a port of its own. */
export const metricsEnabled = (c: Pick<Config, 'metricsToken' | 'metricsPort'>): boolean => c.metricsToken !== undefined || c.metricsPort !== undefined;

/**
 * Where a caller may read metrics: none without a secret; with TESSERA_METRICS_TOKEN the request must carry
 * `Authorization: Bearer <secret>` (compared in constant time). Returns the 401 to send, or undefined.
 */
export function metricsAuthFailure(token: string | undefined, authorization: string | undefined): { status: 401; wwwAuthenticate: string; description: string } | undefined {
  if (token === undefined) return undefined;
  const m = typeof authorization === 'string' ? /^Bearer +([^\s]+) *$/i.exec(authorization) : null;
  // RFC 6750 §3.1: a request without credentials gets the challenge without an error code.
  if (!m) return { status: 401, wwwAuthenticate: 'Bearer realm="metrics"', description: 'the metrics endpoint needs its bearer token' };
  if (!safeEqual(m[1]!, token)) return { status: 401, wwwAuthenticate: 'Bearer realm="metrics", error="invalid_token"', description: 'wrong metrics bearer token' };
  return undefined;
}

/** Where the text comes from: this process, or (in a cluster worker) the primary, which sums every worker. */
export type MetricsSource = () => Promise<string>;

/**
 * GET /metrics on the public port, only with TESSERA_METRICS_TOKEN and no TESSERA_METRICS_PORT: a metrics
 * port means the public port has no /metrics at all (404, as when neither is set: scrape data tells an
 * attacker which clients and grants are busy, so it is never open by default).
 */
export function metricsEndpoint(app: FastifyInstance, config: Pick<Config, 'metricsToken' | 'metricsPort'>, metrics: TesseraMetrics, source: MetricsSource): void {
  if (config.metricsToken === undefined || config.metricsPort !== undefined) return;
  app.get('/metrics', async (req: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    const denied = metricsAuthFailure(config.metricsToken, req.headers.authorization);
    if (denied) {
      return reply.status(denied.status).header('www-authenticate', denied.wwwAuthenticate).type('application/json')
        .send({ error: 'invalid_token', error_description: denied.description });
    }
    try {
      const text = await source();
      return reply.type(metrics.contentType).send(text);
    } catch (err) {
      req.log.warn({ err }, 'metrics unavailable');
      return reply.status(503).type('application/json').send({ error: 'temporarily_unavailable', error_description: 'metrics are unavailable' });
    }
  });
}

export interface MetricsServer { server: Server; port: number; close(): Promise<void> }

/**
 * The metrics port: a plain node:http listener of its own (TESSERA_METRICS_HOST, 127.0.0.1 by default)
 * serving GET /metrics only, with the bearer secret too when one is set.
 */
export async function listenMetrics(config: Pick<Config, 'metricsToken' | 'metricsPort' | 'metricsHost'>, source: MetricsSource, contentType: string): Promise<MetricsServer> {
  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
    res.end(body);
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') return send(res, 404, JSON.stringify({ error: 'invalid_request', error_description: 'no such endpoint' }));
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, JSON.stringify({ error: 'invalid_request', error_description: 'GET only' }), { allow: 'GET, HEAD' });
    const denied = metricsAuthFailure(config.metricsToken, req.headers.authorization);
    if (denied) return send(res, denied.status, JSON.stringify({ error: 'invalid_token', error_description: denied.description }), { 'www-authenticate': denied.wwwAuthenticate });
    source().then(
      (text) => send(res, 200, req.method === 'HEAD' ? '' : text, { 'content-type': contentType }),
      () => send(res, 503, JSON.stringify({ error: 'temporarily_unavailable', error_description: 'metrics are unavailable' })),
    );
  };
  const server = createHttpServer({ headersTimeoutSeconds: 10, requestTimeoutSeconds: 10, keepAliveTimeoutSeconds: 5, maxConnections: 64 }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.metricsPort ?? 0, config.metricsHost, () => { server.off('error', reject); resolve(); });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

// Tessera's IPC messages: the primary gathering each worker's metrics, and a worker asking for the node's sum.
const GATHER = 'tessera:metrics-gather';
const GATHERED = 'tessera:metrics-gathered';
type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;
interface Gather { type: typeof GATHER; id: number }
interface Gathered { type: typeof GATHERED; id: number; metrics?: MetricsJson[]; error?: string }
const ASK = 'tessera:metrics-request';
const ANSWER = 'tessera:metrics-response';
interface Ask { type: typeof ASK; id: number }
interface Answer { type: typeof ANSWER; id: number; text?: string; error?: string }

/**
 * Called once by the cluster primary (node:cluster), which serves no requests itself: sums every worker's
 * metrics, with the primary's own process metrics beside them, through prom-client's
 * `AggregatorRegistry.aggregate`; on TESSERA_METRICS_PORT when it is set, and for workers that
 * serve the token-protected /metrics on the public port (each asks here over IPC, so a scrape through the
 * load-balanced port sees the whole node, not the one worker it reached). Workers call
 * `TesseraMetrics.enableClusterWorker()` (buildApp does it in a worker).
 */
export async function startPrimaryMetrics(config: Pick<Config, 'metricsToken' | 'metricsPort' | 'metricsHost'>, gatherTimeoutMs = 2000): Promise<{ port?: number; close(): Promise<void> }> {
  if (!metricsEnabled(config)) return { close: async () => {} };
  // The primary's own process (memory, CPU, event loop) is part of the node too: labelled worker="primary".
  const own = new Registry();
  collectDefaultMetrics({ register: own, labels: { worker: 'primary' } });
  const gather = gatherer(gatherTimeoutMs);
  const source = async () => AggregatorRegistry.aggregate([...await gather(), await own.getMetricsAsJSON()]).metrics();
  const onMessage = (worker: { send(m: Answer): boolean; isConnected(): boolean }, m: unknown) => {
    if (typeof m !== 'object' || m === null || (m as Ask).type !== ASK) return;
    const id = (m as Ask).id;
    source().then(
      (text) => { if (worker.isConnected()) worker.send({ type: ANSWER, id, text }); },
      (e: Error) => { if (worker.isConnected()) worker.send({ type: ANSWER, id, error: e.message }); },
    );
  };
  cluster.on('message', onMessage);
  const listener = config.metricsPort !== undefined ? await listenMetrics(config, source, own.contentType) : undefined;
  return {
    ...(listener ? { port: listener.port } : {}),
    close: async () => { cluster.off('message', onMessage); gather.close(); await listener?.close(); },
  };
}

/**
 * Each connected worker's metrics as prom-client JSON. A worker that does not answer within the timeout
 * (it is dying, or busy past it) is left out of this scrape rather than failing it: the next scrape has it.
 */
function gatherer(timeoutMs: number): { (): Promise<MetricsJson[]>; close(): void } {
  let next = 0;
  const pending = new Map<number, { want: number; got: MetricsJson[]; done(v: MetricsJson[]): void }>();
  const onMessage = (_w: unknown, m: unknown) => {
    if (typeof m !== 'object' || m === null || (m as Gathered).type !== GATHERED) return;
    const a = m as Gathered;
    const p = pending.get(a.id);
    if (!p) return;
    if (a.metrics) p.got.push(...a.metrics);
    if (--p.want === 0) p.done(p.got);
  };
  cluster.on('message', onMessage);
  const gather = () => new Promise<MetricsJson[]>((resolve) => {
    const id = next++;
    const workers = Object.values(cluster.workers ?? {}).filter((w) => w?.isConnected());
    if (workers.length === 0) { resolve([]); return; }
    const timer = setTimeout(() => { const p = pending.get(id); pending.delete(id); resolve(p?.got ?? []); }, timeoutMs);
    timer.unref();
    pending.set(id, { want: workers.length, got: [], done: (v) => { clearTimeout(timer); pending.delete(id); resolve(v); } });
    for (const w of workers) w!.send({ type: GATHER, id } satisfies Gather);
  });
  return Object.assign(gather, { close: () => { cluster.off('message', onMessage); } });
}

/** In a cluster worker: the summed metrics of every worker, from the primary (startPrimaryMetrics). */
export function askPrimary(timeoutMs = 5000): MetricsSource {
  let next = 0;
  const pending = new Map<number, { resolve(t: string): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  process.on('message', (m: unknown) => {
    if (typeof m !== 'object' || m === null || (m as Answer).type !== ANSWER) return;
    const a = m as Answer;
    const p = pending.get(a.id);
    if (!p) return;
    pending.delete(a.id);
    clearTimeout(p.timer);
    if (a.error !== undefined || typeof a.text !== 'string') p.reject(new Error(a.error ?? 'no metrics'));
    else p.resolve(a.text);
  });
  return () => new Promise<string>((resolve, reject) => {
    if (!process.send) { reject(new Error('not a cluster worker')); return; }
    const id = next++;
    const timer = setTimeout(() => { pending.delete(id); reject(new Error('the primary did not answer')); }, timeoutMs);
    timer.unref();
    pending.set(id, { resolve, reject, timer });
    process.send({ type: ASK, id } satisfies Ask);
  });
}
