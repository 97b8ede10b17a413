// Benchmark peer: oidc-provider 9.13.3, used as a library and configured as described in
// /work/shared/reference/performance-anchors.md (one confidential client_secret_basic client with the
// client_credentials grant, devInteractions off, clientCredentials + introspection + revocation on,
// resourceIndicators with a default resource; RFC 9068 JWT or opaque access tokens, TTL 3600 s).
//
// Usage:
//   NODE_ENV=production node bench/peer-oidc-provider.mjs --port 4000 --format jwt --alg RS256
//   (env fallbacks: PEER_PORT, PEER_FORMAT=jwt|opaque|all, PEER_ALG=RS256|ES256,
//    PEER_CLIENT_ID, PEER_CLIENT_SECRET, PEER_HOST)
//
// Modes (resource server = audience, scope, token format):
//   --format jwt --alg RS256   https://rs-rs256.bench.example   bench.rs256   JWT signed RS256
//   --format jwt --alg ES256   https://rs-es256.bench.example   bench.es256   JWT signed ES256
//   --format opaque            https://rs-opaque.bench.example  bench.opaque  opaque (in-memory adapter)
//   --format all               the three above in one process; the default resource is the one whose
//                              scope is requested (this is how bench/run.mjs runs it: one long-lived
//                              process, like Tessera, instead of a freshly started one per scenario)
// A token request is `grant_type=client_credentials&scope=<scope>` with Basic auth, the same request
// Tessera gets. No `resource` parameter is needed: `defaultResource` supplies it.
// When ready it prints one line `PEER_READY {json}` on stdout (and sends it over IPC when spawned with one).
// Without PEER_CLIENT_SECRET / --client-secret the secret is random and unknown to callers: set one.
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const { values: argv } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    format: { type: 'string' },
    alg: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
  },
  strict: true,
});

const port = Number(argv.port ?? process.env.PEER_PORT ?? 4000);
const host = argv.host ?? process.env.PEER_HOST ?? '127.0.0.1';
const format = (argv.format ?? process.env.PEER_FORMAT ?? 'jwt').toLowerCase();
const alg = (argv.alg ?? process.env.PEER_ALG ?? 'RS256').toUpperCase();
const clientId = argv['client-id'] ?? process.env.PEER_CLIENT_ID ?? 'bench-client';
const clientSecret = argv['client-secret'] ?? process.env.PEER_CLIENT_SECRET ?? randomBytes(32).toString('base64url');

if (!Number.isInteger(port) || port <= 0 || port > 65535) fail(`bad port ${argv.port ?? process.env.PEER_PORT}`);
if (!['jwt', 'opaque', 'all'].includes(format)) fail(`format must be jwt, opaque or all, got ${format}`);
if (!['RS256', 'ES256'].includes(alg)) fail(`alg must be RS256 or ES256, got ${alg}`);

function fail(msg) {
  console.error(`peer-oidc-provider: ${msg}`);
  process.exit(2);
}

// Exit with the harness: if it spawned us with an IPC channel and goes away, so do we.
if (process.channel) {
  process.on('disconnect', () => process.exit(0));
  process.channel.unref();
}

const RS = {
  RS256: { scope: 'bench.rs256', resource: 'https://rs-rs256.bench.example', format: 'jwt', alg: 'RS256' },
  ES256: { scope: 'bench.es256', resource: 'https://rs-es256.bench.example', format: 'jwt', alg: 'ES256' },
  opaque: { scope: 'bench.opaque', resource: 'https://rs-opaque.bench.example', format: 'opaque' },
};
const resourceServers = format === 'all' ? [RS.RS256, RS.ES256, RS.opaque] : format === 'opaque' ? [RS.opaque] : [RS[alg]];
const byResource = new Map(resourceServers.map((rs) => [rs.resource, rs]));
const byScope = new Map(resourceServers.map((rs) => [rs.scope, rs]));
const scopes = resourceServers.map((rs) => rs.scope);

// No `resource` in the request: with one resource server it is the default; with several (--format all)
// the default is the one whose scope is requested.
function defaultResourceFor(ctx) {
  if (resourceServers.length === 1) return resourceServers[0].resource;
  const requested = typeof ctx.oidc.params.scope === 'string' ? ctx.oidc.params.scope.split(' ') : [];
  for (const s of requested) {
    const rs = byScope.get(s);
    if (rs) return rs.resource;
  }
  return undefined;
}

// Keys are generated at each start. The RSA key comes first so ID-token style defaults stay RS256;
// the EC key is there for resource servers that sign with ES256.
async function jwk(kalg, opts) {
  const { privateKey } = await generateKeyPair(kalg, { extractable: true, ...opts });
  const k = await exportJWK(privateKey);
  return { ...k, alg: kalg, use: 'sig', kid: `${kalg.toLowerCase()}-${randomBytes(6).toString('hex')}` };
}
const jwks = { keys: [await jwk('RS256', { modulusLength: 2048 }), await jwk('ES256')] };

const issuer = `http://${host}:${port}`;

const configuration = {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: scopes.join(' '),
  }],
  // The client's `scope` allow-list must only name scopes the provider knows.
  scopes: ['openid', 'offline_access', ...scopes],
  jwks,
  cookies: { keys: [randomBytes(32).toString('base64url'), randomBytes(32).toString('base64url')] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, _client, oneOf) => oneOf ?? defaultResourceFor(ctx),
      getResourceServerInfo: async (_ctx, resourceIndicator) => {
        const rs = byResource.get(resourceIndicator);
        if (!rs) throw new Provider.errors.InvalidTarget();
        const info = { scope: rs.scope, audience: rs.resource, accessTokenTTL: 3600, accessTokenFormat: rs.format };
        if (rs.format === 'jwt') info.jwt = { sign: { alg: rs.alg } };
        return info;
      },
    },
  },
  ttl: {
    AccessToken: 3600,
    ClientCredentials: 3600,
  },
};

const provider = new Provider(issuer, configuration);
// A server error would otherwise be silent in production.
provider.on('server_error', (_ctx, err) => console.error('peer server_error:', err));

const server = provider.listen(port, host);
server.on('error', (err) => fail(`listen failed: ${err.message}`));
server.on('listening', () => {
  const info = { port, host, issuer, format, resourceServers, clientId, pid: process.pid };
  console.log(`PEER_READY ${JSON.stringify(info)}`);
  if (process.send) process.send({ type: 'ready', info });
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close();
    server.closeAllConnections?.();
    setTimeout(() => process.exit(0), 200).unref();
  });
}
