import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { SbError } from '../errors/index.ts';
import type { Metrics } from '../observability/index.ts';
import {
  type BatcherOptions,
  cancelMessage,
  type Db,
  getHistory,
  getMessage,
  type InsertOutcome,
  insertMessages,
  listMessages,
  type NewMessage,
  WriteBatcher,
} from '../store/index.ts';
import { errorHandler, loggableError } from './error-handler.ts';
import { encodeCursor, parseListQuery } from './list-query.ts';
import { parseMessageInput } from './message-input.ts';
import {
  errorBodyJsonSchema,
  IsoTimes,
  messageHistoryJsonSchema,
  messageResourceJsonSchema,
  toMessageHistory,
  toMessageResource,
} from './message-resource.ts';
import { createNumberValidator } from './phone-numbers.ts';
import { type AdmitFn, createMessageIdSource, prepareMessage } from './prepare-message.ts';
import { createAuthenticator, type TenantKeys } from './tenant-auth.ts';

/** Most messages in one batch request. */
export const MAX_BATCH_MESSAGES = 1000;

/** What intake works with. */
export interface IntakeDeps {
  db: Db;
  /** The policy check of each message (the policy engine's `admit`). */
  admit: AdmitFn;
  clock?: (() => number) | undefined;
  /** Fills a buffer with random bytes, for message ids (default `crypto.randomFillSync`). */
  randomFill?: ((buf: Buffer) => void) | undefined;
  /** Never given bodies or full numbers. */
  logger?: Logger | undefined;
  /** `sb_intake_messages_total` by outcome (created, replay, conflict, invalid). */
  metrics?: Pick<Metrics, 'intakeAccepted'> | undefined;
  /** Writes one batch in one transaction; defaults to the store's `insertMessages` on `db`. */
  insert?: ((items: NewMessage[]) => Promise<InsertOutcome[]>) | undefined;
  /** Called after a batch that created messages is committed (e.g. to wake the dispatcher in this process). */
  onQueued?: (() => void) | undefined;
}

/** How intake authenticates and writes. */
export interface IntakeOptions {
  tenants: readonly TenantKeys[];
  /** Group commit of new messages across concurrent requests (default 512 a batch, 1 ms wait). */
  batch?: BatcherOptions | undefined;
  /** Largest body of `POST /v1/messages` in bytes (default: the app's `bodyLimit`). */
  bodyLimit?: number | undefined;
  /** Largest body of `POST /v1/messages/batch` in bytes (default 4 MiB: 1000 messages of a few KiB). */
  batchBodyLimit?: number | undefined;
}

/** The intake API and its write batcher. */
export interface Intake {
  /** The routes, as a Fastify plugin (register it once). */
  plugin: FastifyPluginAsync;
  /** Resolves once every accepted message is written (call after the server stopped accepting). */
  drain(): Promise<void>;
}

/** One item of a batch answer. */
interface BatchResult {
  index: number;
  status: number;
  message?: unknown;
  error?: { code: string; message: string; field?: string };
}

const MESSAGE_ID = /^msg_[0-9a-f]{32}$/;
const TENANT = 'sbTenantId';

const postResponse = { 200: messageResourceJsonSchema, 202: messageResourceJsonSchema };
const batchResponse = {
  200: {
    type: 'object',
    properties: {
      results: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            index: { type: 'integer' },
            status: { type: 'integer' },
            message: messageResourceJsonSchema,
            error: errorBodyJsonSchema,
          },
        },
      },
    },
  },
};
const getResponse = {
  200: {
    ...messageResourceJsonSchema,
    properties: { ...messageResourceJsonSchema.properties, history: messageHistoryJsonSchema },
  },
};
const listResponse = {
  200: {
    type: 'object',
    properties: {
      messages: { type: 'array', items: messageResourceJsonSchema },
      nextCursor: { type: ['string', 'null'] },
    },
  },
};

/**
 * The producer-facing API (JSON, `Authorization: Bearer <api key>`), scoped to the key's
 * tenant:
 * - `POST /v1/messages` → 202 with the message; a replay of an idempotency key with the
 *   same payload → 200 with the original (`Idempotent-Replay: true`), a different payload → 409.
 * - `POST /v1/messages/batch` → 200 with a result per item (202, 200, 400, 409 or 422).
 * - `GET /v1/messages/:id` → the message with its attempts and status events.
 * - `GET /v1/messages?status&to&purpose&correlationId&limit&cursor` → a page, newest first.
 * - `POST /v1/messages/:id/cancel` → 200 while the message was never handed to a provider, else 409.
 * New messages of concurrent requests are written together (group commit, one transaction a batch).
 */
export function createIntake(deps: IntakeDeps, options: IntakeOptions): Intake {
  const clock = deps.clock ?? Date.now;
  const authenticate = createAuthenticator(options.tenants);
  const validateNumber = createNumberValidator();
  const newId = createMessageIdSource(deps.randomFill);
  const times = new IsoTimes();
  const db = deps.db;
  const insert = deps.insert ?? ((items: NewMessage[]) => insertMessages(db, items));
  const batcher = new WriteBatcher<NewMessage, InsertOutcome>(async (items) => {
    const outcomes = await insert(items);
    if (outcomes.some((o) => o.kind === 'created')) deps.onQueued?.();
    return outcomes;
  }, options.batch ?? { maxBatch: 512, maxWaitMs: 0 });
  const count = (outcome: 'created' | 'replay' | 'conflict' | 'invalid', n = 1) =>
    deps.metrics?.intakeAccepted.inc({ outcome }, n);

  /** Validates, checks and routes one message; the row to insert or the error to answer. */
  const prepare = (raw: unknown, headerKey: string | undefined, tenantId: string): NewMessage | SbError => {
    const input = parseMessageInput(raw, headerKey);
    if (input instanceof SbError) return input;
    return prepareMessage(input, { tenantId, admit: deps.admit, validateNumber, newId, now: clock() });
  };

  const unavailable = (err: unknown, tenantId: string) => {
    deps.logger?.error({ err: loggableError(err), tenantId }, 'intake could not store messages');
    return new SbError(
      'SB_INTAKE_UNAVAILABLE',
      'The message could not be stored; retry with the same idempotency key.',
      { cause: err },
    );
  };

  const plugin: FastifyPluginAsync = async (app: FastifyInstance) => {
    // Errors render the same even if the root app has no handler installed yet.
    app.setErrorHandler(errorHandler(deps.logger));
    // JSON only, whatever parsers the parent app has: anything else is a 415.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      'application/json',
      { parseAs: 'string' },
      app.getDefaultJsonParser('error', 'error'),
    );
    app.decorateRequest(TENANT, '');
    app.addHook('onClose', async () => batcher.drain());
    // Before the body is read, so an unauthenticated client costs no parsing.
    app.addHook('onRequest', (req, reply, done) => {
      const tenantId = authenticate(req.headers.authorization);
      if (tenantId === undefined) {
        reply.header('www-authenticate', 'Bearer');
        return done(new SbError('SB_INTAKE_UNAUTHENTICATED'));
      }
      (req as unknown as Record<typeof TENANT, string>)[TENANT] = tenantId;
      done();
    });

    app.post(
      '/v1/messages',
      { schema: { response: postResponse }, ...(options.bodyLimit ? { bodyLimit: options.bodyLimit } : {}) },
      async (req, reply) => {
        const tenantId = tenantOf(req);
        const header = req.headers['idempotency-key'];
        if (Array.isArray(header)) {
          count('invalid');
          throw new SbError('SB_INTAKE_INVALID_FIELD', 'idempotencyKey: send one Idempotency-Key header.', {
            field: 'idempotencyKey',
          });
        }
        const prepared = prepare(req.body, header, tenantId);
        if (prepared instanceof SbError) {
          count('invalid');
          throw prepared;
        }
        let outcome: InsertOutcome;
        try {
          outcome = await batcher.submit(prepared);
        } catch (err) {
          throw unavailable(err, tenantId);
        }
        count(outcome.kind);
        if (outcome.kind === 'conflict') throw conflict();
        const resource = toMessageResource(outcome.row, times, outcome.kind === 'replay');
        if (outcome.kind === 'replay')
          return reply.code(200).header('Idempotent-Replay', 'true').send(resource);
        return reply.code(202).send(resource);
      },
    );

    app.post(
      '/v1/messages/batch',
      { schema: { response: batchResponse }, bodyLimit: options.batchBodyLimit ?? 4 * 1024 * 1024 },
      async (req, reply) => {
        const tenantId = tenantOf(req);
        if (req.headers['idempotency-key'] !== undefined) {
          throw new SbError(
            'SB_INTAKE_INVALID_FIELD',
            'idempotencyKey: a batch takes an idempotencyKey field on each message, not the Idempotency-Key header.',
            { field: 'idempotencyKey' },
          );
        }
        const items = batchItems(req.body);
        const results: BatchResult[] = new Array(items.length);
        const valid: NewMessage[] = [];
        const validIndex: number[] = [];
        for (let i = 0; i < items.length; i++) {
          const prepared = prepare(items[i], undefined, tenantId);
          if (prepared instanceof SbError) {
            results[i] = { index: i, status: prepared.status, error: prepared.toBody().error };
          } else {
            valid.push(prepared);
            validIndex.push(i);
          }
        }
        count('invalid', items.length - valid.length);
        let outcomes: InsertOutcome[] = [];
        if (valid.length > 0) {
          try {
            outcomes = await batcher.submitMany(valid);
          } catch (err) {
            throw unavailable(err, tenantId);
          }
        }
        outcomes.forEach((o, j) => {
          const index = validIndex[j] as number;
          count(o.kind);
          if (o.kind === 'conflict') {
            results[index] = { index, status: 409, error: conflict().toBody().error };
          } else {
            const message = toMessageResource(o.row, times, o.kind === 'replay');
            results[index] = { index, status: o.kind === 'replay' ? 200 : 202, message };
          }
        });
        return reply.code(200).send({ results });
      },
    );

    app.get('/v1/messages/:id', { schema: { response: getResponse } }, async (req) => {
      const tenantId = tenantOf(req);
      const id = messageIdOf(req);
      const row = await getMessage(db, tenantId, id);
      if (!row) throw notFound();
      return {
        ...toMessageResource(row, times),
        history: toMessageHistory(await getHistory(db, row), times),
      };
    });

    app.get('/v1/messages', { schema: { response: listResponse } }, async (req) => {
      const tenantId = tenantOf(req);
      const filter = parseListQuery(req.query, validateNumber);
      if (filter instanceof SbError) throw filter;
      const rows = await listMessages(db, tenantId, filter);
      const more = rows.length === filter.limit;
      const page = more ? rows.slice(0, -1) : rows;
      const last = page[page.length - 1];
      return {
        messages: page.map((row) => toMessageResource(row, times)),
        nextCursor: more && last ? encodeCursor(last.seq) : null,
      };
    });

    app.post(
      '/v1/messages/:id/cancel',
      { schema: { response: { 200: messageResourceJsonSchema } } },
      async (req) => {
        const tenantId = tenantOf(req);
        const id = messageIdOf(req);
        const { canceled, row } = await cancelMessage(db, tenantId, id, clock());
        if (!row) throw notFound();
        // Canceling twice answers like the first time, so a client may retry a cancel whose answer it lost.
        if (!canceled && row.status !== 'canceled') {
          throw new SbError(
            'SB_INTAKE_NOT_CANCELABLE',
            `The message is ${row.status}${row.attempts > 0 ? ' and was already handed to the provider' : ''}; it can no longer be canceled.`,
          );
        }
        return toMessageResource(row, times);
      },
    );
  };

  return { plugin, drain: () => batcher.drain() };
}

/** The intake routes as a plugin (see `createIntake`; use that to drain the write batcher at shutdown). */
export function intakeRoutes(deps: IntakeDeps, options: IntakeOptions): FastifyPluginAsync {
  return createIntake(deps, options).plugin;
}

function tenantOf(req: FastifyRequest): string {
  return (req as unknown as Record<typeof TENANT, string>)[TENANT];
}

function messageIdOf(req: FastifyRequest): string {
  const id = (req.params as { id?: unknown }).id;
  // Anything not shaped like our ids cannot exist: answer 404 without asking the database.
  if (typeof id !== 'string' || !MESSAGE_ID.test(id)) throw notFound();
  return id;
}

/** The `messages` array of a batch request, or the 400 to answer. */
function batchItems(body: unknown): unknown[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new SbError('SB_INTAKE_INVALID_FIELD', 'Expected a JSON object with a messages array.');
  }
  for (const key of Object.keys(body)) {
    if (key !== 'messages')
      throw new SbError('SB_INTAKE_INVALID_FIELD', `${key}: unknown field.`, { field: key });
  }
  const messages = (body as { messages?: unknown }).messages;
  if (!Array.isArray(messages)) {
    throw new SbError('SB_INTAKE_INVALID_FIELD', 'messages: expected an array of messages.', {
      field: 'messages',
    });
  }
  if (messages.length > MAX_BATCH_MESSAGES) {
    throw new SbError(
      'SB_INTAKE_BATCH_TOO_LARGE',
      `A batch holds at most ${MAX_BATCH_MESSAGES} messages; this one has ${messages.length}.`,
      { field: 'messages' },
    );
  }
  if (messages.length === 0) {
    throw new SbError('SB_INTAKE_INVALID_FIELD', 'messages: a batch holds at least one message.', {
      field: 'messages',
    });
  }
  return messages;
}

function notFound(): SbError {
  return new SbError('SB_INTAKE_NOT_FOUND');
}

function conflict(): SbError {
  return new SbError('SB_INTAKE_IDEMPOTENCY_CONFLICT', undefined, { field: 'idempotencyKey' });
}
