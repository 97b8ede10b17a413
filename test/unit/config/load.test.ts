import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../../src/config/load.js';
import { SETTINGS } from '../../../src/config/schema.js';

function errorOf(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${String(e)}`);
    return e.message;
  }
  assert.fail('the configuration was accepted');
}

const dir = mkdtempSync(join(tmpdir(), 'tessera-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const BOOT_ID = { TESSERA_BOOTSTRAP_CLIENT_ID: 'admin' };

describe('configuration errors never echo a secret', () => {
  test('the secret settings are marked in the schema', () => {
    const marked = Object.fromEntries(SETTINGS.filter((s) => s.secret).map((s) => [s.env, s.secret]));
    assert.deepEqual(marked, { TESSERA_DATABASE_URL: 'password', TESSERA_DATABASE_LISTEN_URL: 'password', TESSERA_MASTER_KEY: 'value', TESSERA_BOOTSTRAP_CLIENT_SECRET: 'value', TESSERA_BOOTSTRAP_ADMIN_PASSWORD: 'value', TESSERA_METRICS_TOKEN: 'value' });
  });

  // [variable, bad value, the part that must not appear]
  const cases: [string, string, string][] = [
    ['TESSERA_MASTER_KEY', 'Sup3rS3cretMasterKeyMaterial', 'Sup3rS3cretMasterKeyMaterial'],
    ['TESSERA_MASTER_KEY', 'ab'.repeat(31), 'ab'.repeat(31)],
    ['TESSERA_BOOTSTRAP_CLIENT_SECRET', 'hunter2-is-short', 'hunter2-is-short'],
    ['TESSERA_METRICS_TOKEN', 'scrape-me-if-you-can', 'scrape-me-if-you-can'],
    ['TESSERA_DATABASE_URL', 'mysql://admin:Pa55w0rd-XYZ@db.internal/tessera', 'Pa55w0rd-XYZ'],
    // A password with "@" and "/" in it, unencoded: no part of it shows.
    ['TESSERA_DATABASE_URL', 'mysql://admin:Pa55@w0rd/XYZ@db.internal/tessera', 'w0rd/XYZ'],
    ['TESSERA_DATABASE_URL', 'mysql://admin:Pa55@w0rd/XYZ@db.internal/tessera', 'Pa55'],
    ['TESSERA_DATABASE_LISTEN_URL', 'mysql://admin:Pa55w0rd-XYZ@db.internal/tessera', 'Pa55w0rd-XYZ'],
  ];
  for (const [key, value, hidden] of cases) {
    test(`${key}=${value.slice(0, 24)}...: the error names the key and hides the value`, () => {
      const msg = errorOf({ ...BOOT_ID, TESSERA_BOOTSTRAP_CLIENT_SECRET: 'x'.repeat(32), [key]: value });
      assert.match(msg, new RegExp(`^${key}: `));
      assert.ok(!msg.includes(hidden), msg);
      assert.ok(!msg.includes(hidden.slice(0, 8)), msg);
    });
  }

  test('a database URL error still shows the rest of the URL', () => {
    const msg = errorOf({ TESSERA_DATABASE_URL: 'mysql://admin:Pa55w0rd-XYZ@db.internal/tessera' });
    assert.match(msg, /mysql:\/\/admin:\*\*\*@db\.internal\/tessera/);
  });

  test('a master key error tells its length, not its value', () => {
    assert.match(errorOf({ TESSERA_MASTER_KEY: 'Sup3rS3cretMasterKeyMaterial' }), /must be 32 bytes.*\(a secret of 28 characters, not shown\)/);
  });

  test('a secret from the config file is hidden as well', () => {
    const path = join(dir, 'secret.json');
    writeFileSync(path, JSON.stringify({ masterKey: 'Sup3rS3cretMasterKeyMaterial' }));
    const msg = errorOf({ TESSERA_CONFIG: path });
    assert.match(msg, /: masterKey: must be 32 bytes/);
    assert.ok(!msg.includes('Sup3rS3cret'), msg);
  });

  test('a config file that is not valid JSON: the error does not quote the file', () => {
    for (const text of ['{"masterKey": Sup3rS3cretMasterKeyMaterial}', 'Sup3rS3cretMasterKeyMaterial', '{"masterKey": "Sup3rS3cretMasterKeyMaterial"']) {
      const path = join(dir, 'broken.json');
      writeFileSync(path, text);
      const msg = errorOf({ TESSERA_CONFIG: path });
      assert.match(msg, /^TESSERA_CONFIG: cannot read .*broken\.json: not valid JSON/);
      assert.ok(!msg.includes('Sup3rS3cret'), msg);
    }
  });

  test('a setting that is not secret still shows the bad value', () => {
    assert.match(errorOf({ PORT: 'eighty' }), /^PORT: must be an integer between 0 and 65535 \(got "eighty"\)$/);
    assert.match(errorOf({ TESSERA_PUBLIC_URL: 'not a url' }), /\(got "not a url"\)/);
    assert.match(errorOf({ TESSERA_DATABASE_URL: 'mysql://db.internal/tessera' }), /\(got "mysql:\/\/db\.internal\/tessera"\)/);
  });
});
