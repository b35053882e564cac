import { hashApiKey } from '../config/index.ts';

/** A tenant and the SHA-256 digests (hex) of its API keys. */
export interface TenantKeys {
  id: string;
  apiKeySha256: readonly string[];
}

/** Resolves an `Authorization` header to a tenant id, or undefined. */
export type Authenticator = (authorization: string | undefined) => string | undefined;

const MAX_KEY_LENGTH = 512;

/**
 * Authenticates `Authorization: Bearer <key>` against stored key digests. The presented
 * key is hashed and the digest looked up, so no comparison ever runs over a stored secret
 * (and the time taken does not depend on how much of a key matched).
 */
export function createAuthenticator(tenants: readonly TenantKeys[]): Authenticator {
  const byDigest = new Map<string, string>();
  for (const t of tenants) {
    for (const digest of t.apiKeySha256) {
      const normalized = digest.toLowerCase();
      const owner = byDigest.get(normalized);
      if (owner !== undefined && owner !== t.id) {
        throw new Error(`one API key is configured for two tenants (${owner}, ${t.id})`);
      }
      byDigest.set(normalized, t.id);
    }
  }
  // Keys already proven valid skip the hash; only valid keys enter, so the cache cannot be
  // filled by guessing.
  const known = new Map<string, string>();
  return (authorization) => {
    if (authorization === undefined || authorization.length < 8) return undefined;
    const cached = known.get(authorization);
    if (cached !== undefined) return cached;
    if (authorization.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
    const key = authorization.slice(7).trim();
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) return undefined;
    const tenant = byDigest.get(hashApiKey(key));
    if (tenant !== undefined && known.size < 1000) known.set(authorization, tenant);
    return tenant;
  };
}
