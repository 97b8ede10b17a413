import cluster from 'node:cluster';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import { systemClock, type Clock } from '../core/clock.js';
import { DEFAULT_DOMAIN, type DomainRecord } from '../core/types.js';
import { firstAlgs } from '../crypto/keystore.js';
import { MasterKey } from '../crypto/masterkey.js';
import fastifyCookie from '@fastify/cookie';
import { adminPlugin } from '../admin/plugin.js';
import { authorizeEndpoint } from '../endpoints/authorize.js';
import { signinPages } from '../endpoints/signin.js';
import { logoutEndpoint } from '../endpoints/logout.js';
import { authenticateEndpoints } from '../endpoints/authenticate.js';
import { deviceAuthorizationEndpoint } from '../endpoints/device.js';
import { deviceVerificationPages } from '../endpoints/device_verification.js';
import { discoveryEndpoints, metadata } from '../endpoints/discovery.js';
import { introspectEndpoint } from '../endpoints/introspect.js';
import { jwksEndpoint } from '../endpoints/jwks.js';
import { registerEndpoints } from '../endpoints/register.js';
import { revokeEndpoint } from '../endpoints/revoke.js';
import { tokenEndpoint } from '../endpoints/token.js';
import { tokeninfoEndpoint } from '../endpoints/tokeninfo.js';
import { userinfoEndpoint } from '../endpoints/userinfo.js';
import { welcomePages } from '../endpoints/welcome.js';
import { DOMAIN_NAME } from '../identity/domains.js';
import { bootstrapAdministrator } from '../identity/first_admin.js';
import { migrate, openDatabase, type Database_ } from '../storage/db.js';
import { kyselyRepositories } from '../storage/kysely.js';
import { changeRecorder } from '../cache/changes.js';
import { changeFeedFor, NoChangeFeed } from '../cache/invalidation.js';
import { endpointsFor, UnknownDomain, type DomainContext } from './context.js';
import { oauthErrorHandler, pageErrorHandler } from './errors.js';
import { registerBodyParsers } from './json.js';
import { healthEndpoints, ReadinessChecks } from './health.js';
import { lazyChildLogger, loggerOptions, requestIdGenerator } from './logging.js';
import { askPrimary, metricsEnabled, metricsEndpoint, TesseraMetrics, workerLabel } from './metrics.js';
import { createHttpServer } from './server.js';
import { buildServices, type Services } from './services.js';
import { webApps } from './web.js';

export interface BuildOptions {
  config: Config;
  clock?: Clock;
  /** An already open database (tests); otherwise `config.databaseUrl` is opened and closed with the app. */
  database?: Database_;
  masterKey?: MasterKey;
  /** Pino options, or false to silence (tests). */
  logger?: boolean | Record<string, unknown>;
  /** Hear other processes' writes (default true; a one-shot CLI command needs not). */
  listenForChanges?: boolean;
  /**
   * The store is migrated and bootstrapped already (a cluster worker: the primary did it once before
   * forking, so workers neither race migrations nor create built-ins twice).
   */
  prepared?: boolean;
}

export interface Tessera {
  app: FastifyInstance;
  services: Services;
  database: Database_;
  /** Prometheus metrics of this app; undefined when /metrics is off (neither TESSERA_METRICS_TOKEN nor _PORT). */
  metrics: TesseraMetrics | undefined;
  readiness: ReadinessChecks;
  close(): Promise<void>;
}

/** Build a non-listening Tessera: migrated database, default domain, bootstrap client, routes. */
export async function buildApp(opts: BuildOptions): Promise<Tessera> {
  const { config } = opts;
  const clock = opts.clock ?? systemClock;
  const app = Fastify({
    logger: opts.logger === false ? false : loggerOptions(config, typeof opts.logger === 'object' ? opts.logger : {}),
    logController: new LogController({ disableRequestLogging: !config.logRequests }),
    // Every request has an id (a trusted proxy's X-Request-Id, or a new one), in its log lines and in the
    // X-Request-Id response header. Without request logging the pino child carrying it is made only when
    // the request logs something: a child per request costs measurable time on the token endpoint.
    requestIdHeader: false,
    genReqId: requestIdGenerator(config.trustProxy),
    ...(config.logRequests ? {} : { childLoggerFactory: lazyChildLogger }),
    bodyLimit: config.bodyLimitBytes,
    // Header, request and keep-alive timeouts and the connection cap (slowloris, slow bodies).
    serverFactory: (handler) => createHttpServer(config, handler),
    trustProxy: config.trustProxy,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // SCIM ids and client ids are case-sensitive; domain names are lower-case.
    routerOptions: { caseSensitive: true, ignoreTrailingSlash: false, maxParamLength: 200 },
  });
  const ownDb = !opts.database;
  const database = opts.database ?? (await openDatabase(config.databaseUrl, { poolSize: config.databasePoolSize }));
  try {
    if (!opts.prepared) await migrate(database.db, { log: (m) => app.log.warn(m) });
    const masterKey = opts.masterKey ?? MasterKey.load(config.masterKey, config.dataDir, (m) => app.log.warn(m));
    const changes = opts.listenForChanges === false ? new NoChangeFeed(app.log) : changeFeedFor(database, config, app.log);
    const services = buildServices(config, clock, app.log, kyselyRepositories(database.db, changeRecorder(database.dialect)), masterKey, changes);
    await changes.start();
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await app.close();
      await changes.close();
      await services.events.flush();
      if (ownDb) await database.close();
    };
    try {
      if (!opts.prepared) await bootstrap(services);
    } catch (e) {
      await changes.close();
      throw e;
    }
    const readiness = new ReadinessChecks(services, database.db);
    const metrics = metricsEnabled(config) ? new TesseraMetrics({ worker: workerLabel() }) : undefined;
    if (metrics) {
      metrics.install(app, services.events);
      // In a cluster worker the primary sums every worker (startPrimaryMetrics); alone, this process answers.
      if (cluster.isWorker) metrics.enableClusterWorker();
      metricsEndpoint(app, config, metrics, cluster.isWorker ? askPrimary() : () => metrics.text());
    }
    registerRoutes(app, services);
    healthEndpoints(app, readiness);
    return { app, services, database, metrics, readiness, close };
  } catch (e) {
    if (ownDb) await database.close();
    throw e;
  }
}

async function bootstrap(s: Services): Promise<void> {
  // DESIGN habit 9: an unsafe switch is loud.
  if (s.config.unsafeSamlAllowSha1) s.log.warn('TESSERA_UNSAFE_SAML_ALLOW_SHA1 is on: SAML assertions signed with SHA-1 are accepted from every trusted issuer');
  const domain = await s.domains.ensureDefault();
  for (const d of await s.repos.domains.list()) await s.domains.upgradeBuiltins(d);
  await s.keys.ensure(domain.id, ...firstAlgs(s.config.defaultSigningAlg));
  if (s.config.bootstrapClientId && s.config.bootstrapClientSecret) {
    await s.domains.upsertConfidentialClient(domain, s.masterKey, s.config.bootstrapClientId, s.config.bootstrapClientSecret);
    s.log.info('bootstrap client %s holds the Identity Domain Administrator role', s.config.bootstrapClientId);
  }
  if (s.config.bootstrapAdminUsername && s.config.bootstrapAdminPassword) await bootstrapAdministrator(s, domain, s.config.bootstrapAdminUsername, s.config.bootstrapAdminPassword);
}

// One context object per loaded domain record, so the hot path builds no URLs.
const contexts = new WeakMap<DomainRecord, DomainContext>();
function contextFor(s: Services, domain: DomainRecord): DomainContext {
  let c = contexts.get(domain);
  if (!c) {
    const issuer = s.issuerOf(domain);
    contexts.set(domain, (c = { domain, issuer, endpoints: endpointsFor(issuer) }));
  }
  return c;
}

async function resolveDomain(s: Services, name: string, prefixed = false): Promise<DomainContext> {
  // The default domain lives at the root only: under /domains/default it would answer with an issuer
  // that is not the URL it was reached at (OIDC Discovery §4.3), so it is not there at all.
  if (!DOMAIN_NAME.test(name) || (prefixed && name === DEFAULT_DOMAIN)) throw new UnknownDomain();
  const domain = await s.catalogs.domainByName(name);
  if (!domain) throw new UnknownDomain();
  return contextFor(s, domain);
}

function registerRoutes(app: FastifyInstance, s: Services): void {
  app.decorateRequest('tessera', null as unknown as DomainContext);
  void app.register(fastifyCookie);
  registerBodyParsers(app);
  // Callback-style hooks: no promise per request on the hot path.
  app.addHook('onSend', (req, reply, payload, done) => {
    reply.header('x-content-type-options', 'nosniff').header('x-request-id', req.id);
    done(null, payload);
  });
  app.setErrorHandler(oauthErrorHandler);
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: 'invalid_request', error_description: `no such endpoint: ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}` });
  });

  const domainScope = (fixed?: string) => async (scope: FastifyInstance) => {
    scope.addHook('onRequest', (req: FastifyRequest, _reply, done) => {
      const name = fixed ?? (req.params as { domainName?: string }).domainName ?? '';
      const cached = fixed || name !== DEFAULT_DOMAIN ? s.catalogs.peekDomain(name) : undefined;
      if (cached) {
        req.tessera = contextFor(s, cached);
        done();
        return;
      }
      resolveDomain(s, name, fixed === undefined).then((c) => { req.tessera = c; done(); }, (e: Error) => done(e));
    });
    // OAuth endpoints: errors as RFC 6749 §5.2 JSON.
    await scope.register(async (oauth) => {
      oauth.setErrorHandler(oauthErrorHandler);
      discoveryEndpoints(oauth, s);
      tokenEndpoint(oauth, s);
      introspectEndpoint(oauth, s);
      revokeEndpoint(oauth, s);
      tokeninfoEndpoint(oauth, s);
      userinfoEndpoint(oauth, s);
      jwksEndpoint(oauth, s);
      registerEndpoints(oauth, s);
      deviceAuthorizationEndpoint(oauth, s);
    });
    // Browser-facing endpoints: errors are HTML pages or redirects, rendered by the handlers.
    await scope.register(async (ui) => {
      ui.setErrorHandler(pageErrorHandler);
      authorizeEndpoint(ui, s);
      signinPages(ui, s);
      logoutEndpoint(ui, s);
      authenticateEndpoints(ui, s);
      deviceVerificationPages(ui, s);
      webApps(ui, s);
      welcomePages(ui, s);
    });
    // Identity domain REST API: errors in the SCIM shape.
    await scope.register(adminPlugin(s), { prefix: '/admin/v1' });
  };
  void app.register(domainScope(DEFAULT_DOMAIN));
  void app.register(domainScope(), { prefix: '/domains/:domainName' });

  // RFC 8414 §3.1: for an issuer with a path, metadata lives at /.well-known/oauth-authorization-server/<path>.
  for (const wk of ['oauth-authorization-server', 'openid-configuration']) {
    app.get(`/.well-known/${wk}/domains/:domainName`, async (req, reply) => {
      const c = await resolveDomain(s, (req.params as { domainName: string }).domainName, true);
      reply.header('access-control-allow-origin', '*').header('cache-control', 'public, max-age=300');
      return metadata(s, c);
    });
  }
}
