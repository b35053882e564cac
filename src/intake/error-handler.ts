import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { SbError, type SbErrorCode } from '../errors/index.ts';

// Fastify's own errors, by code, and what each means to a client.
const FASTIFY_CODES: Record<string, SbErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'SB_INTAKE_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'SB_INTAKE_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'SB_INTAKE_INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'SB_INTAKE_INVALID_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'SB_INTAKE_INVALID_JSON',
  FST_ERR_NOT_FOUND: 'SB_INTAKE_ROUTE_NOT_FOUND',
  FST_ERR_BAD_URL: 'SB_INTAKE_ROUTE_NOT_FOUND',
};

// Any other client error, by HTTP status.
const STATUS_CODES: Record<number, SbErrorCode> = {
  400: 'SB_INTAKE_INVALID_FIELD',
  401: 'SB_INTAKE_UNAUTHENTICATED',
  404: 'SB_INTAKE_ROUTE_NOT_FOUND',
  405: 'SB_INTAKE_METHOD_NOT_ALLOWED',
  413: 'SB_INTAKE_BODY_TOO_LARGE',
  415: 'SB_INTAKE_UNSUPPORTED_MEDIA_TYPE',
  503: 'SB_INTAKE_UNAVAILABLE',
};

/**
 * Maps anything thrown while handling a request to an SbError: SbErrors as they are,
 * Fastify's errors (body too large, bad JSON, schema validation, …) to our codes, and
 * everything else to SB_INTERNAL, whose cause is logged but never shown.
 */
export function toSbError(err: unknown): SbError {
  if (err instanceof SbError) return err;
  const e = err as Partial<FastifyError> | null;
  if (e && typeof e === 'object') {
    if (Array.isArray(e.validation) && e.validation.length > 0) {
      const v = e.validation[0] as { instancePath?: string; params?: { missingProperty?: string } };
      const path = (v.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
      const missing = v.params?.missingProperty;
      const field = [path, missing].filter(Boolean).join('.');
      return new SbError('SB_INTAKE_INVALID_FIELD', `${field || 'request'}: ${e.message ?? 'invalid'}`, {
        ...(field ? { field } : {}),
        cause: err,
      });
    }
    const byCode = typeof e.code === 'string' ? FASTIFY_CODES[e.code] : undefined;
    if (byCode) return new SbError(byCode, undefined, { cause: err });
    const status = e.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return new SbError(STATUS_CODES[status] ?? 'SB_INTAKE_INVALID_FIELD', undefined, { cause: err });
    }
    if (status === 503) return new SbError('SB_INTAKE_UNAVAILABLE', undefined, { cause: err });
  }
  return new SbError('SB_INTERNAL', undefined, { cause: err });
}

/** Sends an error as `{ "error": { "code", "message", "field"? } }` with its status. */
export function sendError(reply: FastifyReply, err: SbError): FastifyReply {
  return reply.code(err.status).send(err.toBody());
}

/**
 * Makes every error of the app render as `{ "error": { "code", "message", "field"? } }`:
 * SbErrors from any domain, Fastify's own errors (e.g. FST_ERR_CTP_BODY_TOO_LARGE → 413
 * SB_INTAKE_BODY_TOO_LARGE) and unknown routes (404 SB_INTAKE_ROUTE_NOT_FOUND). Server
 * errors are logged with their cause; the client sees only the code. Call it on the root
 * instance before registering routes.
 */
export function installErrorHandler(
  app: FastifyInstance,
  options: { logger?: Logger | undefined } = {},
): void {
  app.setErrorHandler(errorHandler(options.logger));
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?', 1)[0]?.slice(0, 200) ?? '';
    return sendError(
      reply,
      new SbError('SB_INTAKE_ROUTE_NOT_FOUND', `No such route: ${req.method} ${path}.`),
    );
  });
}

/** The error handler alone (for an encapsulated plugin that must render errors even when registered first). */
export function errorHandler(logger?: Logger | undefined) {
  return (err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const sb = toSbError(err);
    if (sb.status >= 500) {
      (logger ?? req.log).error(
        {
          err: loggableError(sb.cause ?? sb),
          code: sb.code,
          method: req.method,
          route: req.routeOptions.url,
        },
        'request failed',
      );
    }
    return sendError(reply, sb);
  };
}

/**
 * What of an error may be logged: its type, message, code and stack, never its other
 * properties (a PostgreSQL error's `detail` can quote the whole failing row, body and number included).
 */
export function loggableError(err: unknown): {
  type: string;
  message: string;
  code?: string;
  stack?: string;
} {
  if (!(err instanceof Error)) return { type: typeof err, message: String(err) };
  const code = (err as { code?: unknown }).code;
  return {
    type: err.name,
    message: err.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(err.stack ? { stack: err.stack } : {}),
  };
}
