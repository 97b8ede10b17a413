import { MFA_POLICIES, type MfaPolicy } from '../core/types.js';
import type { FastifyInstance } from 'fastify';
import {
  DEFAULT_DOMAIN, MAX_ACCESS_TOKEN_LIFETIME, MIN_ACCESS_TOKEN_LIFETIME, SIGNING_ALGS_LIST, type DomainSettings, type PasswordPolicySettings, type SigningAlg,
} from '../core/types.js';
import { DEFAULT_PASSWORD_POLICY, passwordPolicyOf } from '../identity/passwords.js';
import type { Services } from '../http/services.js';
import { DOMAIN_NAME } from '../identity/domains.js';
import { newClientId, newSecret } from '../core/ids.js';
import { describeRotation, firstAlgs } from '../crypto/keystore.js';
import { retention } from '../maintenance.js';
import { ScimError } from '../scim/errors.js';
import { Conflict } from '../storage/ports.js';
import { requireScope } from './auth.js';
import { PERMISSIONS } from './permissions.js';
import { iso } from './resource.js';

/** NIST SP 800-63B §5.1.1.2: at least 8 characters; at least 64 must be allowed. */
function checkPasswordPolicy(v: unknown): PasswordPolicySettings {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ScimError(400, 'invalidValue', 'passwordPolicy must be an object');
  const out: PasswordPolicySettings = {};
  const intIn = (name: string, x: unknown, lo: number, hi: number): number => {
    if (!Number.isInteger(x) || (x as number) < lo || (x as number) > hi) throw new ScimError(400, 'invalidValue', `passwordPolicy.${name} must be an integer between ${lo} and ${hi}`);
    return x as number;
  };
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (k === 'minLength') out.minLength = intIn(k, x, 8, 256);
    else if (k === 'maxLength') out.maxLength = intIn(k, x, 64, 1024);
    else if (k === 'historyCount') out.historyCount = intIn(k, x, 0, 24);
    else if (k === 'rejectCommon') {
      if (typeof x !== 'boolean') throw new ScimError(400, 'invalidValue', 'passwordPolicy.rejectCommon must be a boolean');
      out.rejectCommon = x;
    } else throw new ScimError(400, 'invalidValue', `unknown password policy setting ${k.slice(0, 64)}`);
  }
  return out;
}

/**
 * Identity domains (only through the default domain's API) and signing keys (per domain).
 * Plain JSON resources in the SCIM error shape; not SCIM resource types.
 */
export function domainAdminRoutes(app: FastifyInstance, s: Services): void {
  const onlyDefault = (name: string) => {
    if (name !== DEFAULT_DOMAIN) throw new ScimError(404, undefined, 'identity domains are managed through the default domain');
  };
  const render = (d: { id: string; name: string; displayName: string; createdAt: number }) => ({
    id: d.id, name: d.name, displayName: d.displayName, issuer: s.issuerOf(d), created: iso(d.createdAt),
  });

  app.get('/IdentityDomains', async (req) => {
    onlyDefault(req.tessera.domain.name);
    requireScope(req, PERMISSIONS.IdentityDomains.read);
    const all = await s.repos.domains.list();
    return { schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: all.length, startIndex: 1, itemsPerPage: all.length, Resources: all.map(render) };
  });

  app.post('/IdentityDomains', async (req, reply) => {
    onlyDefault(req.tessera.domain.name);
    requireScope(req, PERMISSIONS.IdentityDomains.write);
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (typeof b.name !== 'string' || !DOMAIN_NAME.test(b.name)) {
      throw new ScimError(400, 'invalidValue', 'name must be 1-63 lower-case letters, digits and hyphens');
    }
    const displayName = typeof b.displayName === 'string' && b.displayName ? b.displayName.slice(0, 200) : b.name;
    let d;
    try { d = await s.domains.create(b.name, displayName); } catch (e) {
      if (e instanceof Conflict) throw new ScimError(409, 'uniqueness', `domain ${b.name} already exists`);
      throw e;
    }
    await s.keys.ensure(d.id, ...firstAlgs(s.config.defaultSigningAlg));
    // A new domain needs a first administrator: a confidential client holding its Identity Domain
    // Administrator role, whose secret is shown in this response only.
    const adminId = newClientId();
    const adminSecret = newSecret();
    await s.domains.upsertConfidentialClient(d, s.masterKey, adminId, adminSecret);
    s.catalogs.invalidateDomains();
    s.events.emit({ eventId: 'domain.created', outcome: 'success', domainId: req.tessera.domain.id, actorType: req.adminCaller!.actorType,
      actorId: req.adminCaller!.actorId, clientIp: req.ip, targetType: 'IdentityDomain', targetId: d.id });
    return reply.status(201).send({ ...render(d), adminClient: { client_id: adminId, client_secret: adminSecret } });
  });

  // Domain settings: JWKS visibility and the default access-token lifetime.
  const settingsView = (d: { settings: DomainSettings }) => ({
    jwksPublic: d.settings.jwksPublic ?? s.config.jwksPublic,
    accessTokenTtl: d.settings.accessTokenTtl ?? s.config.accessTokenTtl,
    passwordPolicy: passwordPolicyOf(d.settings),
    mfaPolicy: d.settings.mfaPolicy ?? 'requested',
  });
  app.get('/Settings', async (req) => {
    requireScope(req, PERMISSIONS.IdentityDomains.read);
    return settingsView(req.tessera.domain);
  });
  app.patch('/Settings', async (req) => {
    requireScope(req, PERMISSIONS.IdentityDomains.write);
    const b = req.body;
    if (!b || typeof b !== 'object' || Array.isArray(b)) throw new ScimError(400, 'invalidSyntax', 'a JSON object is required');
    const next = { ...req.tessera.domain.settings };
    for (const [k, v] of Object.entries(b as Record<string, unknown>)) {
      if (k === 'jwksPublic') {
        if (typeof v !== 'boolean') throw new ScimError(400, 'invalidValue', 'jwksPublic must be a boolean');
        next.jwksPublic = v;
      } else if (k === 'accessTokenTtl') {
        if (!Number.isInteger(v) || (v as number) < MIN_ACCESS_TOKEN_LIFETIME || (v as number) > MAX_ACCESS_TOKEN_LIFETIME) {
          throw new ScimError(400, 'invalidValue', `accessTokenTtl must be an integer between ${MIN_ACCESS_TOKEN_LIFETIME} and ${MAX_ACCESS_TOKEN_LIFETIME}`);
        }
        next.accessTokenTtl = v as number;
      } else if (k === 'mfaPolicy') {
        if (!MFA_POLICIES.includes(v as MfaPolicy)) throw new ScimError(400, 'invalidValue', `mfaPolicy must be one of ${MFA_POLICIES.join(', ')}`);
        next.mfaPolicy = v as MfaPolicy;
      } else if (k === 'passwordPolicy') {
        next.passwordPolicy = { ...(next.passwordPolicy ?? {}), ...checkPasswordPolicy(v) };
        // Compare what was asked for, not the clamped effective policy.
        const min = next.passwordPolicy.minLength ?? DEFAULT_PASSWORD_POLICY.minLength;
        const max = next.passwordPolicy.maxLength ?? DEFAULT_PASSWORD_POLICY.maxLength;
        if (max < min) throw new ScimError(400, 'invalidValue', 'passwordPolicy.maxLength must not be below minLength');
      } else throw new ScimError(400, 'invalidValue', `unknown setting ${k.slice(0, 64)}`);
    }
    await s.repos.domains.updateSettings(req.tessera.domain.id, next, s.clock.now());
    s.catalogs.invalidateDomains();
    s.events.emit({ eventId: 'admin.patched', outcome: 'success', domainId: req.tessera.domain.id, actorType: req.adminCaller!.actorType,
      actorId: req.adminCaller!.actorId, clientIp: req.ip, targetType: 'Settings', targetId: req.tessera.domain.id, details: next as Record<string, unknown> });
    return settingsView({ settings: next });
  });

  app.get('/SigningKeys', async (req) => {
    requireScope(req, PERMISSIONS.SigningKeys.read);
    const keys = await s.keys.list(req.tessera.domain.id);
    // A next key of an alg with no active key waits out the publish delay before it signs.
    const waiting = (k: (typeof keys)[number]) => k.status === 'next' && !keys.some((x) => x.alg === k.alg && x.status === 'active');
    return {
      Resources: keys.map((k) => ({
        kid: k.kid, alg: k.alg, status: k.status, created: iso(k.createdAt),
        activated: k.activatedAt ? iso(k.activatedAt) : undefined, retired: k.retiredAt ? iso(k.retiredAt) : undefined,
        expires: k.expiresAt ? iso(k.expiresAt) : undefined, signsFrom: waiting(k) ? iso(s.keys.signsFrom(k)) : undefined,
      })),
    };
  });

  app.post('/SigningKeys/rotate', async (req) => {
    requireScope(req, PERMISSIONS.SigningKeys.write);
    // RFC 7644 §3.12: a body that is not a JSON object is invalidSyntax (a `["RS256"]` must not rotate the default alg).
    if (req.body !== undefined && req.body !== null && (typeof req.body !== 'object' || Array.isArray(req.body))) {
      throw new ScimError(400, 'invalidSyntax', 'the body must be a JSON object such as {"alg":"RS256"}');
    }
    const b = (req.body ?? {}) as Record<string, unknown>;
    const alg = (b.alg ?? s.config.defaultSigningAlg) as SigningAlg;
    if (!SIGNING_ALGS_LIST.includes(alg)) throw new ScimError(400, 'invalidValue', `alg must be one of ${SIGNING_ALGS_LIST.join(', ')}`);
    const r = await s.keys.rotate(req.tessera.domain.id, alg, await retention(s, req.tessera.domain.id));
    const said = describeRotation(r, { now: s.clock.now(), publishDelayMs: s.keys.publishDelayMs, defaultAlg: s.config.defaultSigningAlg });
    s.events.emit({ eventId: 'keys.rotated', outcome: 'success', domainId: req.tessera.domain.id, actorType: req.adminCaller!.actorType,
      actorId: req.adminCaller!.actorId, clientIp: req.ip, targetType: 'SigningKey', targetId: r.outcome === 'superseded' ? r.active?.kid : r.outcome === 'rotated' ? r.active.kid : r.next.kid,
      details: { alg, outcome: r.outcome } });
    const message = said.lines.join(' ');
    if (r.outcome === 'rotated') {
      return {
        alg, outcome: r.outcome, active: r.active.kid, activePublished: iso(r.active.publishedAt),
        ...(r.retired ? { retired: r.retired.kid, retiredPublishedUntil: iso(r.retired.publishedUntil) } : {}),
        next: r.next.kid, message, ...(said.warning ? { warning: said.warning } : {}),
      };
    }
    if (r.outcome === 'superseded') return { alg, outcome: r.outcome, ...(r.active ? { active: r.active.kid } : {}), message };
    return { alg, outcome: r.outcome, next: r.next.kid, nextPublished: iso(r.next.publishedAt), signsFrom: iso(r.signsFrom), message };
  });
}
