import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAuthenticator } from './tenant-auth.ts';

describe('createAuthenticator', () => {
  const digest = (k: string) => createHash('sha256').update(k).digest('hex');
  const auth = createAuthenticator([{ id: 'a', apiKeySha256: [digest('key-a')] }]);

  it('finds the tenant of a bearer key, whatever the case of the scheme', () => {
    expect(auth('Bearer key-a')).toBe('a');
    expect(auth('bearer key-a')).toBe('a');
    expect(auth('Bearer key-b')).toBeUndefined();
    expect(auth(undefined)).toBeUndefined();
    expect(auth(`Bearer ${'k'.repeat(10_000)}`)).toBeUndefined();
  });

  it('refuses a config that gives one key to two tenants', () => {
    expect(() =>
      createAuthenticator([
        { id: 'a', apiKeySha256: [digest('k')] },
        { id: 'b', apiKeySha256: [digest('k')] },
      ]),
    ).toThrow(/two tenants/);
  });
});
