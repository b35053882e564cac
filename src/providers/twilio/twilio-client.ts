import { Pool } from 'undici';

/** What one HTTP exchange with Twilio came to: a full response, or a transport error. */
export type TwilioHttpOutcome =
  | { type: 'response'; status: number; body: string }
  | { type: 'network'; error: unknown };

/** How to reach Twilio (or the simulator) and how patient to be. */
export interface TwilioClientOptions {
  accountSid: string;
  authToken: string;
  /** e.g. `https://api.twilio.com` or `http://127.0.0.1:4010`; a path prefix is kept. */
  baseUrl: string;
  /** Keep-alive connections in the pool, and so the most requests in flight. */
  maxConcurrency: number;
  connectTimeoutMs: number;
  /** Time allowed for the response headers, and then between body chunks. */
  timeoutMs: number;
}

/** Twilio's 2010 REST API over one keep-alive undici Pool. */
export interface TwilioClient {
  /** The path of the account's Messages list resource, with the base URL's path prefix. */
  readonly messagesPath: string;
  /** POSTs a form to `path` once. Never retried: a repeat could create a second message. */
  postForm(path: string, form: URLSearchParams): Promise<TwilioHttpOutcome>;
  /** GETs `path` (with its query). */
  get(path: string): Promise<TwilioHttpOutcome>;
  /**
   * Resolves a `*_page_uri` from a list response to a request path on the same origin, or null
   * when it points at another origin (credentials must not travel there).
   */
  resolvePageUri(uri: string): string | null;
  /** Waits for requests in flight, then closes every connection; a second call does nothing. */
  close(): Promise<void>;
}

/** Opens the pool. Nothing here retries: retry decisions belong to the queue, from the result. */
export function createTwilioClient(options: TwilioClientOptions): TwilioClient {
  const base = new URL(options.baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const pool = new Pool(base.origin, {
    connections: options.maxConcurrency,
    // One request per connection at a time: a POST is never queued behind another on a socket
    // that might die, and undici never re-sends a request it has written.
    pipelining: 1,
    connect: { timeout: options.connectTimeoutMs },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  const headers = {
    authorization: `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`,
    accept: 'application/json',
    'user-agent': 'switchboard',
  };
  const formHeaders = { ...headers, 'content-type': 'application/x-www-form-urlencoded' };

  async function exchange(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
  ): Promise<TwilioHttpOutcome> {
    try {
      const res = await pool.request({
        method,
        path,
        headers: body === undefined ? headers : formHeaders,
        body,
        // Explicit, although undici already treats POST as non-idempotent.
        idempotent: method === 'GET',
      });
      return { type: 'response', status: res.statusCode, body: await res.body.text() };
    } catch (error) {
      return { type: 'network', error };
    }
  }

  return {
    messagesPath: `${prefix}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`,
    postForm: (path, form) => exchange('POST', path, form.toString()),
    get: (path) => exchange('GET', path, undefined),
    resolvePageUri(uri) {
      // Twilio's 2010 API answers with relative URIs; twilio-node joins them onto the base URL.
      if (uri.startsWith('/')) return `${prefix}${uri}`;
      const url = URL.canParse(uri) ? new URL(uri) : null;
      return url?.origin === base.origin ? `${url.pathname}${url.search}` : null;
    },
    close: () => (pool.closed ? Promise.resolve() : pool.close()),
  };
}
