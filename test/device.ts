import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { APP_SCHEMA, scim, type Harness } from './helpers.js';

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** A resource server and a public TV app allowed the device grant (and refresh). */
export async function tvApp(h: Harness, admin: string, client: Record<string, unknown> = {}) {
  const suffix = randomBytes(4).toString('hex');
  const rs = await scim(h, 'POST', '/admin/v1/Apps', admin, {
    schemas: [APP_SCHEMA], displayName: `media-${suffix}`, isOAuthResource: true, audience: `https://media-${suffix}.example.com`,
    scopes: [{ value: `media.${suffix}`, description: 'Watch your films' }],
  });
  assert.equal(rs.statusCode, 201, rs.body);
  const cl = await scim(h, 'POST', '/admin/v1/Apps', admin, {
    schemas: [APP_SCHEMA], displayName: `TV app ${suffix}`, isOAuthClient: true, clientType: 'public',
    allowedGrants: [DEVICE_GRANT, 'refresh_token'], allowedScopes: [{ fqs: `media.${suffix}` }], ...client,
  });
  assert.equal(cl.statusCode, 201, cl.body);
  return { id: cl.json().id as string, clientId: cl.json().name as string, scope: `media.${suffix}`, audience: rs.json().audience as string, name: `TV app ${suffix}` };
}

