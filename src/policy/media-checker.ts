import { Agent, request } from 'undici';
import { z } from 'zod';
import { PolicyRefusal } from './policy-refusal.ts';

/** How MMS media URLs are checked before a send. */
export const mediaPolicySchema = z
  .strictObject({
    requireHttps: z.boolean().default(true),
    /** Twilio accepts up to 5 MB of media per message. */
    maxBytes: z
      .number()
      .int()
      .positive()
      .default(5 * 1024 * 1024),
    /** Content types carriers render (`image/*` style wildcards allowed). */
    contentTypes: z
      .array(z.string().regex(/^[a-z]+\/([a-z0-9.+-]+|\*)$/, 'a content type such as image/png or image/*'))
      .default([
        'image/jpeg',
        'image/jpg',
        'image/png',
        'image/gif',
        'image/webp',
        'video/mp4',
        'video/3gpp',
        'audio/mpeg',
        'application/pdf',
        'text/vcard',
      ]),
    timeoutMs: z.number().int().min(100).max(30_000).default(3_000),
    cacheTtlMs: z.number().int().min(0).default(300_000),
    /** A bad URL fails the message, or sends it as text without its media. */
    onInvalid: z.enum(['fail', 'send_as_text']).default('fail'),
  })
  .prefault({});

/** The validated media section. */
export type MediaPolicy = z.infer<typeof mediaPolicySchema>;

/** Checks a message's media URLs. */
export interface MediaChecker {
  /** Null when every URL passes; else the refusal naming the first bad one. */
  check(urls: readonly string[]): Promise<PolicyRefusal | null>;
  close(): Promise<void>;
}

const CACHE_SIZE = 1_000;
const MAX_REDIRECTS = 3;

/** Origin and path only: query strings may carry signed tokens. */
function shown(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/**
 * Checks media URLs as a carrier would fetch them: HTTPS, a 2xx answer (after at most three
 * redirects), an allowed content type and a Content-Length within the limit, all within the
 * timeout. HEAD first; a server that refuses HEAD is asked for one byte with GET + Range.
 * Results are cached per URL for `cacheTtlMs`, so a campaign with one image checks it once.
 */
export function createMediaChecker(policy: MediaPolicy, deps: { now?: () => number } = {}): MediaChecker {
  const now = deps.now ?? Date.now;
  const agent = new Agent({ connectTimeout: policy.timeoutMs, keepAliveTimeout: 10_000 });
  const cache = new Map<string, { at: number; problem: string | null }>();
  const allowed = (type: string) =>
    policy.contentTypes.some((t) => (t.endsWith('/*') ? type.startsWith(t.slice(0, -1)) : type === t));

  const fetchOnce = async (url: URL, method: 'HEAD' | 'GET', signal: AbortSignal) => {
    const res = await request(url, {
      method,
      dispatcher: agent,
      signal,
      headersTimeout: policy.timeoutMs,
      bodyTimeout: policy.timeoutMs,
      headers: method === 'GET' ? { range: 'bytes=0-0' } : {},
    });
    await res.body.dump();
    return res;
  };

  /** What is wrong with one URL, or null. */
  const problemOf = async (raw: string): Promise<string | null> => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return 'is not a URL';
    }
    const signal = AbortSignal.timeout(policy.timeoutMs);
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      if (url.protocol !== 'https:' && (policy.requireHttps || url.protocol !== 'http:')) {
        return `${shown(url)} is not HTTPS`;
      }
      let res = await fetchOnce(url, 'HEAD', signal);
      if (res.statusCode === 405 || res.statusCode === 501) res = await fetchOnce(url, 'GET', signal);
      if (res.statusCode >= 300 && res.statusCode < 400 && typeof res.headers.location === 'string') {
        url = new URL(res.headers.location, url);
        continue;
      }
      if (res.statusCode < 200 || res.statusCode >= 300) return `${shown(url)} answered ${res.statusCode}`;
      const type = String(res.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim()
        .toLowerCase();
      if (!allowed(type)) return `${shown(url)} has content type ${type || '(none)'}`;
      const range = res.headers['content-range'];
      const size =
        typeof range === 'string' && range.includes('/')
          ? Number(range.slice(range.lastIndexOf('/') + 1))
          : Number(res.headers['content-length'] ?? Number.NaN);
      if (!Number.isFinite(size)) return `${shown(url)} gives no Content-Length`;
      if (size > policy.maxBytes) return `${shown(url)} is ${size} bytes (limit ${policy.maxBytes})`;
      return null;
    }
    return `${shown(url)} redirects more than ${MAX_REDIRECTS} times`;
  };

  const checkOne = async (raw: string): Promise<string | null> => {
    const hit = cache.get(raw);
    if (hit && now() - hit.at < policy.cacheTtlMs) return hit.problem;
    let problem: string | null;
    try {
      problem = await problemOf(raw);
    } catch (err) {
      const name = (err as { code?: string; name?: string }).code ?? (err as Error).name;
      problem = `${raw.split('?')[0]} could not be fetched (${name})`;
    }
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(raw, { at: now(), problem });
    return problem;
  };

  return {
    async check(urls) {
      for (const [i, url] of urls.entries()) {
        const problem = await checkOne(url);
        if (problem)
          return new PolicyRefusal('media_invalid', `mediaUrls[${i}]: ${problem}.`, `mediaUrls.${i}`);
      }
      return null;
    },
    close: () => agent.close(),
  };
}
