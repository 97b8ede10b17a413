import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bool, num, object, oneOf, opt, read, ShapeError, str, strs } from '../../../src/core/shape.js';
import { readCodeData } from '../../../src/authorize/code_data.js';
import { readFlowState } from '../../../src/identity/authn.js';
import { readRefreshData } from '../../../src/tokens/user_tokens.js';

const T = object<{ a: string; b?: number; c: boolean; d: string[]; e: 'x' | 'y' }>({ a: str, b: opt(num), c: bool, d: strs, e: oneOf(['x', 'y'] as const) });

test('shape: reads a well-formed object, drops unknown fields, keeps absent optionals absent', () => {
  assert.deepEqual(read(T, { a: 's', c: true, d: ['1'], e: 'x', extra: 1 }, 't'), { a: 's', c: true, d: ['1'], e: 'x' });
  assert.deepEqual(read(T, { a: 's', b: 2, c: false, d: [], e: 'y' }, 't'), { a: 's', b: 2, c: false, d: [], e: 'y' });
  assert.equal('b' in read(T, { a: 's', b: null, c: true, d: [], e: 'x' }, 't'), false);
});

test('shape: every wrong field is refused with its path', () => {
  const cases: [unknown, RegExp][] = [
    [null, /^stored record: t must be an object$/],
    [[], /t must be an object/],
    [{ c: true, d: [], e: 'x' }, /t\.a must be a string/],
    [{ a: 1, c: true, d: [], e: 'x' }, /t\.a must be a string/],
    [{ a: 's', b: 'x', c: true, d: [], e: 'x' }, /t\.b must be a number/],
    [{ a: 's', b: Infinity, c: true, d: [], e: 'x' }, /t\.b must be a number/],
    [{ a: 's', c: 'yes', d: [], e: 'x' }, /t\.c must be true or false/],
    [{ a: 's', c: true, d: [1], e: 'x' }, /t\.d\[0\] must be a string/],
    [{ a: 's', c: true, d: 'a', e: 'x' }, /t\.d must be a list of strings/],
    [{ a: 's', c: true, d: [], e: 'z' }, /t\.e must be one of x, y/],
  ];
  for (const [v, msg] of cases) assert.throws(() => read(T, v, 't'), (e: unknown) => e instanceof ShapeError && msg.test((e as Error).message));
});

test('stored shapes: codes, refresh tokens and sign-in flows are checked field by field when read back', () => {
  const code = { userId: 'u', redirectUri: 'https://a/cb', redirectUriSent: true, scopes: ['openid'], authTime: 1, amr: ['pwd'], acr: 'urn:tessera:acr:pwd' };
  assert.deepEqual(readCodeData(code), code);
  assert.throws(() => readCodeData({ ...code, userId: undefined }), /authorization code\.userId must be a string/);
  assert.throws(() => readCodeData({ ...code, scopes: 'openid' }), /authorization code\.scopes must be a list of strings/);
  const rt = { familyExpiresAt: 10, authTime: 1, amr: ['pwd'], acr: 'a' };
  assert.deepEqual(readRefreshData({ ...rt, rotatedAt: 5 }), { ...rt, rotatedAt: 5 });
  assert.throws(() => readRefreshData({ ...rt, familyExpiresAt: '10' }), /refresh token\.familyExpiresAt must be a number/);
  const flow = { kind: 'authorize', clientId: 'c', step: 'mfa', amr: ['pwd'], mfaRequested: false, request: {
    clientId: 'c', redirectUri: 'https://a/cb', redirectUriSent: true, responseType: 'code', responseMode: 'query', scopes: ['openid'], prompt: [], acrValues: [] } };
  assert.equal(readFlowState(flow).request?.responseType, 'code');
  assert.throws(() => readFlowState({ ...flow, step: 'admin' }), /sign-in flow\.step must be one of/);
  assert.throws(() => readFlowState({ ...flow, request: { ...flow.request, responseType: 'code token' } }), /sign-in flow\.request\.responseType must be one of/);
});
