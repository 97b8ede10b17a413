import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import ipaddr from 'ipaddr.js';
import pretty from 'pino-pretty';
import type { Config } from '../config/schema.js';
import { boundText } from '../events/emitter.js';

/** Is the pretty format wanted: asked for, or `auto` in a terminal outside production. */
export function prettyLogs(c: Pick<Config, 'logFormat'>, tty = process.stdout.isTTY === true, env = process.env.NODE_ENV): boolean {
  return c.logFormat === 'pretty' || (c.logFormat === 'auto' && tty && env !== 'production');
}

/**
 * Pino options for the app. JSON lines by default (what log shippers read); readable one-line logs
 * (pino-pretty, written synchronously in this process) when `prettyLogs`. `override` (tests: a stream)
 * comes last.
 */
export function loggerOptions(config: Pick<Config, 'logLevel' | 'logFormat'>, override: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    level: config.logLevel,
    // RFC 9700 §4.3.2 / RFC 6750 §5.3: tokens must not reach logs, and tokeninfo accepts
    // ?access_token=... (Axway GET form), so request logs carry the path only, never the query.
    serializers: { req: (req: { method: string; url: string }) => ({ method: req.method, url: boundText(req.url.split('?')[0]!, 1024) }) },
    ...(prettyLogs(config) ? { stream: pretty({ singleLine: true, colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true }) } : {}),
    ...override,
  };
}

/** An incoming request id worth keeping: short, and nothing that could forge or break a log line. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Fastify's genReqId: the X-Request-Id a trusted proxy sent (so one id follows a request through the proxy's
 * log and ours), when it is short and safe; otherwise a new random UUID. A client's own X-Request-Id is not
 * believed without TESSERA_TRUST_PROXY: it could pin many requests to one id, or pass one off as another's.
 */
export function requestIdGenerator(trustProxy: Config['trustProxy']): (req: IncomingMessage) => string {
  const trusted = trustedPeer(trustProxy);
  return (req) => {
    const incoming = req.headers['x-request-id'];
    if (typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) && trusted(req.socket.remoteAddress)) return incoming;
    return randomUUID();
  };
}

/** Is the direct peer one of TESSERA_TRUST_PROXY's proxies (`true`: any peer; `false`: none). */
export function trustedPeer(trustProxy: Config['trustProxy']): (address: string | undefined) => boolean {
  if (trustProxy === true) return () => true;
  if (trustProxy === false || trustProxy.length === 0) return () => false;
  const ranges = trustProxy.map((x) => (x.includes('/') ? ipaddr.parseCIDR(x) : [ipaddr.parse(x), ipaddr.parse(x).kind() === 'ipv4' ? 32 : 128] as const));
  return (address) => {
    if (!address) return false;
    let a: ipaddr.IPv4 | ipaddr.IPv6;
    try { a = ipaddr.parse(address); } catch { return false; }
    const forms = [a];
    if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) forms.push((a as ipaddr.IPv6).toIPv4Address());
    return forms.some((f) => ranges.some(([net, bits]) => f.kind() === net.kind() && f.match(net as never, bits)));
  };
}

type Bindings = Record<string, unknown>;

/**
 * A request's logger that becomes a pino child (carrying the request id) only when something is logged.
 * A child per request costs measurable time on the token endpoint, and with request logging off most
 * requests log nothing; this way the lines they do log (errors, store outages) still carry the id.
 */
type LogCall = (this: FastifyBaseLogger, ...a: unknown[]) => void;

class LazyChild implements FastifyBaseLogger {
  private real: FastifyBaseLogger | undefined;
  constructor(private readonly parent: FastifyBaseLogger, private readonly bindings: Bindings, private readonly opts: object) {}
  private get log(): FastifyBaseLogger { return (this.real ??= this.parent.child(this.bindings, this.opts)); }
  get level(): string { return this.real ? this.real.level : this.parent.level; }
  set level(l: string) { this.log.level = l; }
  private call(level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace', a: unknown[]): void {
    // A call below the level (req.log.debug at info) logs nothing, so it makes no child either.
    if (!this.real && (this.parent as { isLevelEnabled?: (l: string) => boolean }).isLevelEnabled?.(level) === false) return;
    const l = this.log;
    (l[level] as LogCall).apply(l, a);
  }
  // Prototype methods, not bound fields: one small object per request, no closures.
  fatal(...a: unknown[]): void { this.call('fatal', a); }
  error(...a: unknown[]): void { this.call('error', a); }
  warn(...a: unknown[]): void { this.call('warn', a); }
  info(...a: unknown[]): void { this.call('info', a); }
  debug(...a: unknown[]): void { this.call('debug', a); }
  trace(...a: unknown[]): void { this.call('trace', a); }
  silent(): void {}
  child(bindings: Bindings, opts?: object): FastifyBaseLogger { return this.log.child(bindings, opts); }
}

export const lazyChildLogger = (logger: FastifyBaseLogger, bindings: Bindings, opts: object): FastifyBaseLogger => new LazyChild(logger, bindings, opts);
