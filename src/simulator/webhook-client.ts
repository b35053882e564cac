import { Agent, request } from 'undici';
import type { CallbackAttempt } from './model.ts';
import { signTwilioRequest } from './twilio-signature.ts';

/** Default timeouts and retries for calling a customer's webhook (Twilio's defaults). */
export interface WebhookPolicy {
  connectTimeoutMs: number;
  readTimeoutMs: number;
  totalTimeoutMs: number;
  retryCount: number;
  retryPolicy: ('4xx' | '5xx' | 'ct' | 'rt' | 'all')[];
}

/** The outcome of one HTTP attempt, before it is recorded on a message. */
export type AttemptOutcome = Pick<
  CallbackAttempt,
  'url' | 'at' | 'durationMs' | 'httpStatus' | 'errorCode' | 'attempt'
> & {
  /** The response body (first 64 KiB) when asked for: an inbound webhook may answer TwiML. */
  responseBody?: string;
};

const MAX_RESPONSE_BODY = 64 * 1024;

type FailureKind = '4xx' | '5xx' | 'ct' | 'rt' | null;

/**
 * Posts signed, form-encoded webhooks the way Twilio does: `X-Twilio-Signature` over the
 * configured URL (without its `#` fragment), Twilio's timeouts, and connection-override
 * fragments (`#ct`, `#rt`, `#tt`, `#rc`, `#rp`) honoured per URL.
 */
export class WebhookClient {
  private readonly agents = new Map<number, Agent>();

  constructor(
    private readonly policy: WebhookPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  /** Delivers one webhook, retrying as its policy allows; returns every attempt made. */
  async deliver(
    configuredUrl: string,
    params: Record<string, string>,
    authToken: string,
    idempotencyToken: string,
    options: { readBody?: boolean } = {},
  ): Promise<AttemptOutcome[]> {
    const { url, policy } = this.resolve(configuredUrl);
    const body = new URLSearchParams(params).toString();
    const headers = {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'x-twilio-signature': signTwilioRequest(authToken, url, params),
      'i-twilio-idempotency-token': idempotencyToken,
      'user-agent': 'TwilioProxy/1.1',
      accept: '*/*',
    };
    const attempts: AttemptOutcome[] = [];
    for (let attempt = 1; attempt <= policy.retryCount + 1; attempt++) {
      const at = this.now();
      const started = performance.now();
      let httpStatus: number | null = null;
      let failure: FailureKind = null;
      let responseBody: string | undefined;
      try {
        const res = await request(url, {
          method: 'POST',
          headers,
          body,
          dispatcher: this.agent(policy.connectTimeoutMs),
          headersTimeout: policy.readTimeoutMs,
          bodyTimeout: policy.readTimeoutMs,
          signal: AbortSignal.timeout(policy.totalTimeoutMs),
        });
        httpStatus = res.statusCode;
        if (options.readBody && httpStatus < 300) {
          const text = await res.body.text();
          responseBody = text.slice(0, MAX_RESPONSE_BODY);
        } else await res.body.dump();
        if (httpStatus >= 500) failure = '5xx';
        else if (httpStatus >= 400) failure = '4xx';
      } catch (err) {
        failure = classifyNetworkError(err);
      }
      const errorCode = failure === null ? null : failure === 'ct' ? 11205 : 11200;
      attempts.push({
        url,
        at,
        durationMs: Math.round(performance.now() - started),
        httpStatus,
        errorCode,
        attempt,
        ...(responseBody === undefined ? {} : { responseBody }),
      });
      if (failure === null) break;
      if (!policy.retryPolicy.includes('all') && !policy.retryPolicy.includes(failure)) break;
    }
    return attempts;
  }

  /** Closes pooled connections. */
  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.close()));
    this.agents.clear();
  }

  private agent(connectTimeoutMs: number): Agent {
    let agent = this.agents.get(connectTimeoutMs);
    if (!agent) {
      agent = new Agent({
        connect: { timeout: connectTimeoutMs },
        connections: 64,
        keepAliveTimeout: 10_000,
      });
      this.agents.set(connectTimeoutMs, agent);
    }
    return agent;
  }

  private resolve(configuredUrl: string): { url: string; policy: WebhookPolicy } {
    const hash = configuredUrl.indexOf('#');
    if (hash < 0) return { url: configuredUrl, policy: this.policy };
    const policy = { ...this.policy };
    for (const [k, v] of new URLSearchParams(configuredUrl.slice(hash + 1))) {
      const n = Number(v);
      if (k === 'ct' && n >= 100 && n <= 10_000) policy.connectTimeoutMs = n;
      else if (k === 'rt' && n >= 100 && n <= 15_000) policy.readTimeoutMs = n;
      else if (k === 'tt' && n >= 100 && n <= 15_000) policy.totalTimeoutMs = n;
      else if (k === 'rc' && Number.isInteger(n) && n >= 0 && n <= 5) policy.retryCount = n;
      else if (k === 'rp') policy.retryPolicy = v.split(',').filter(isRetryPolicy);
    }
    return { url: configuredUrl.slice(0, hash), policy };
  }
}

function isRetryPolicy(v: string): v is WebhookPolicy['retryPolicy'][number] {
  return v === '4xx' || v === '5xx' || v === 'ct' || v === 'rt' || v === 'all';
}

function classifyNetworkError(err: unknown): FailureKind {
  const code = (err as { code?: string }).code ?? '';
  const name = (err as { name?: string }).name ?? '';
  if (
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'EHOSTUNREACH'
  ) {
    return 'ct';
  }
  if (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    name === 'TimeoutError' ||
    name === 'AbortError'
  ) {
    return 'rt';
  }
  // A reset or a protocol error after connecting: Twilio records a connection failure.
  return 'ct';
}
