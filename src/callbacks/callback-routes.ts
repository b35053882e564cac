import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { SbError } from '../errors/index.ts';
import type { Metrics } from '../observability/index.ts';
import {
  type BatcherOptions,
  type CallbackInsertResult,
  type Db,
  insertCallbackEvents,
  type NewCallbackEvent,
  WriteBatcher,
} from '../store/index.ts';
import { TwilioSignatureVerifier } from './twilio-signature-verifier.ts';

/** Why a callback was refused. */
export type CallbackRejectReason = 'bad_signature' | 'invalid';

/** What the webhook routes work with. */
export interface CallbackRouteDeps {
  db: Db;
  logger?: Logger | undefined;
  /** `sb_callbacks_total` by result and `sb_callback_failures_total` by reason. */
  metrics?: Pick<Metrics, 'callbacks' | 'callbackRejected'> | undefined;
  /** Called for every refused callback. */
  onRejected?: ((reason: CallbackRejectReason) => void) | undefined;
  /** Called once a status callback is durably stored (e.g. to wake the applier in this process). */
  onStored?: (() => void) | undefined;
  clock?: (() => number) | undefined;
}

/** How the webhook routes verify and store callbacks. */
export interface CallbackRouteOptions {
  /**
   * The gateway's public base URL as Twilio calls it (e.g. `https://gw.example.com`, the
   * proxy's address when behind one). The signed URL is this plus the path and query as
   * received. A function is read on every request (the URL may be known only after listen).
   */
  publicUrl: string | (() => string);
  authToken: string;
  /** The auth token before the last rotation, still accepted. */
  previousAuthToken?: string | undefined;
  /**
   * Group commit of stored callbacks. Default: up to 256 a batch, written when the event-loop
   * turn ends or once its first callback has waited 1 ms for the turn (after a stall hundreds
   * arrive at once; the 1 ms bound halved the server-side p99 at 13k callbacks/s). A callback
   * alone in its turn while callbacks stream in waits up to 1 ms for others (`lingerMs`): with
   * requests evenly spread at 3.8k/s each had come in a turn of its own and been written in a
   * transaction of its own (1.5 a batch), and the gateway spent 175 µs of CPU per callback;
   * lingering, 138 µs, with a p99 of 2.6-4.5 ms against 2.5-6.9 (6 windows each) and 0.3 ms
   * more at the median. Callbacks that arrive together are written at once, as before.
   */
  batch?: BatcherOptions | undefined;
  /** Largest accepted callback body in bytes (default 64 KiB). */
  bodyLimit?: number | undefined;
  /** The text to answer an inbound keyword with (e.g. the HELP reply), sent back as TwiML `<Message>`. */
  inboundReply?: ((keyword: string, to: string) => string | null) | undefined;
}

export const STATUS_CALLBACK_PATH = '/webhooks/twilio/status';
export const INBOUND_PATH = '/webhooks/twilio/inbound';

type FormParams = Record<string, string | string[]>;

const EMPTY_TWIML = '<Response/>';
const KEYWORD = /^[\p{L}\p{N}]{1,16}$/u;

/**
 * The Twilio webhook endpoints, as a Fastify plugin. Each callback is verified
 * (`X-Twilio-Signature`, current or previous token), stored once (deduplicated) through a
 * group commit, and answered once durable; applying status callbacks happens elsewhere
 * (`startCallbackApplier`). A refused callback changes nothing.
 * - `POST /webhooks/twilio/status?mid=<our id>` → 204.
 * - `POST /webhooks/twilio/inbound` → 200 with TwiML: empty, or the configured reply to a
 *   keyword such as HELP. The body is not stored, only its keyword when it is a single short
 *   word (for STOP / START / HELP handling).
 */
export function callbackRoutes(deps: CallbackRouteDeps, options: CallbackRouteOptions): FastifyPluginAsync {
  const verifier = new TwilioSignatureVerifier(options);
  const clock = deps.clock ?? Date.now;
  const bodyLimit = options.bodyLimit ?? 64 * 1024;
  // Trimmed once per distinct value, not on every request.
  let lastRaw: string | null = null;
  let lastBase = '';
  const baseUrl = () => {
    const raw = typeof options.publicUrl === 'function' ? options.publicUrl() : options.publicUrl;
    if (raw !== lastRaw) {
      lastRaw = raw;
      lastBase = raw.replace(/\/+$/, '');
    }
    return lastBase;
  };

  return async (app: FastifyInstance) => {
    const batcher = new WriteBatcher<NewCallbackEvent, CallbackInsertResult>(
      (items) => insertCallbackEvents(deps.db, items),
      options.batch ?? { maxBatch: 256, maxWaitMs: 0, maxHoldMs: 1, lingerMs: 1 },
    );
    app.addHook('onClose', async () => batcher.drain());
    // The counter's children, resolved once: `inc({ result })` hashed the labels on every callback.
    const counted: Partial<Record<CallbackInsertResult, { inc(): void }>> = deps.metrics
      ? {
          stored: deps.metrics.callbacks.labels({ result: 'stored' }),
          duplicate: deps.metrics.callbacks.labels({ result: 'duplicate' }),
        }
      : {};
    // Scoped to this plugin: other routes keep their own parsers.
    if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) await app.register(formbody);

    const reject = (reply: FastifyReply, req: FastifyRequest, reason: CallbackRejectReason, err: SbError) => {
      deps.metrics?.callbackRejected.inc({ reason });
      deps.onRejected?.(reason);
      deps.logger?.warn({ reason, path: req.url.split('?')[0] }, 'callback refused');
      return reply.code(err.status).send(err.toBody());
    };

    /** Verifies the request; returns its parameters, or undefined once it has been refused. */
    const verified = (req: FastifyRequest, reply: FastifyReply): FormParams | undefined => {
      const params = formParams(req.body);
      const header = req.headers['x-twilio-signature'];
      if (!verifier.verify(baseUrl() + req.url, params, typeof header === 'string' ? header : undefined)) {
        void reject(reply, req, 'bad_signature', new SbError('SB_CALLBACK_BAD_SIGNATURE'));
        return undefined;
      }
      return params;
    };

    const store = async (reply: FastifyReply, event: NewCallbackEvent): Promise<boolean> => {
      try {
        const result = await batcher.submit(event);
        counted[result]?.inc();
        if (result === 'stored' && event.kind === 'status') deps.onStored?.();
        return true;
      } catch (err) {
        deps.logger?.error({ err, kind: event.kind }, 'callback could not be stored');
        const e = new SbError('SB_INTERNAL', 'The callback could not be stored; retry later.', {
          cause: err,
        });
        await reply.code(e.status).send(e.toBody());
        return false;
      }
    };

    app.post(STATUS_CALLBACK_PATH, { bodyLimit }, async (req, reply) => {
      const params = verified(req, reply);
      if (!params) return reply;
      const sid = single(params.MessageSid);
      const status = single(params.MessageStatus);
      if (!sid || !status) {
        const err = new SbError('SB_CALLBACK_INVALID', 'MessageSid and MessageStatus are required.', {
          field: sid ? 'MessageStatus' : 'MessageSid',
        });
        return reject(reply, req, 'invalid', err);
      }
      const mid = single((req.query as Record<string, string | string[] | undefined>).mid);
      const ok = await store(reply, {
        kind: 'status',
        providerSid: sid,
        messageId: mid || null,
        status,
        errorCode: single(params.ErrorCode) || null,
        params,
        receivedAt: clock(),
      });
      return ok ? reply.code(204).send() : reply;
    });

    app.post(INBOUND_PATH, { bodyLimit }, async (req, reply) => {
      const params = verified(req, reply);
      if (!params) return reply;
      const sid = single(params.MessageSid);
      if (!sid || !single(params.From) || !single(params.To)) {
        const err = new SbError('SB_CALLBACK_INVALID', 'MessageSid, From and To are required.', {
          field: sid ? (single(params.From) ? 'To' : 'From') : 'MessageSid',
        });
        return reject(reply, req, 'invalid', err);
      }
      const { Body: body, ...kept } = params;
      const keyword = keywordOf(single(body));
      const ok = await store(reply, {
        kind: 'inbound',
        providerSid: sid,
        messageId: null,
        status: single(params.SmsStatus) || 'received',
        errorCode: null,
        params: keyword ? { ...kept, BodyKeyword: keyword } : kept,
        receivedAt: clock(),
      });
      if (!ok) return reply;
      const answer = keyword ? options.inboundReply?.(keyword, single(params.To)!) : null;
      return reply
        .code(200)
        .header('content-type', 'text/xml')
        .send(answer ? `<Response><Message>${escapeXml(answer)}</Message></Response>` : EMPTY_TWIML);
    });
  };
}

/** The upper-cased body when it is one short word (`stop` → `STOP`), else undefined. */
export function keywordOf(body: string | undefined): string | undefined {
  const word = body?.trim();
  return word && KEYWORD.test(word) ? word.toUpperCase() : undefined;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The form parameters of a request: strings, or arrays of strings for repeated names. A form
 * body as the form parser made it (no prototype, nothing but strings) is used as it is; any
 * other body is copied with only such values. Copying every body was about 8% of what the
 * gateway allocated per callback.
 */
function formParams(body: unknown): FormParams {
  if (typeof body !== 'object' || body === null) return Object.create(null);
  // fast-querystring's objects inherit from an empty object without a prototype.
  const proto: unknown = Object.getPrototypeOf(body);
  const bare = proto === null || (proto !== Object.prototype && Object.getPrototypeOf(proto) === null);
  if (bare && isFormParams(body)) return body as FormParams;
  // No prototype: a parameter named `__proto__` stays an ordinary key.
  const out: FormParams = Object.create(null);
  for (const [k, v] of Object.entries(body)) {
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) out[k] = v;
  }
  return out;
}

/** Whether every own value is a string or an array of strings, and nothing is inherited. */
function isFormParams(body: object): boolean {
  for (const k in body) {
    if (!Object.hasOwn(body, k)) return false;
    const v = (body as Record<string, unknown>)[k];
    if (typeof v !== 'string' && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) return false;
  }
  return true;
}

function single(v: string | readonly string[] | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
