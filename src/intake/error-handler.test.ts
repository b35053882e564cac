import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { SbError } from '../errors/index.ts';
import { installErrorHandler, toSbError } from './error-handler.ts';

async function appWithRoutes() {
  const app = Fastify({ logger: false, bodyLimit: 100 });
  installErrorHandler(app);
  app.get('/sb', async () => {
    throw new SbError('SB_CALLBACK_BAD_SIGNATURE');
  });
  app.get('/crash', async () => {
    throw new Error('connection string postgres://user:secret@db');
  });
  app.post('/echo', async (req) => req.body);
  app.post(
    '/validated',
    { schema: { body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } } },
    async () => ({ ok: true }),
  );
  await app.ready();
  return app;
}

describe('installErrorHandler', () => {
  it('renders an SbError of any domain with its status and code', async () => {
    const app = await appWithRoutes();
    const res = await app.inject({ method: 'GET', url: '/sb' });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({
      error: { code: 'SB_CALLBACK_BAD_SIGNATURE', message: new SbError('SB_CALLBACK_BAD_SIGNATURE').message },
    });
  });

  it('renders an unexpected error as 500 SB_INTERNAL without its message', async () => {
    const app = await appWithRoutes();
    const res = await app.inject({ method: 'GET', url: '/crash' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: { code: 'SB_INTERNAL', message: 'Internal error.' } });
    expect(res.body).not.toContain('secret');
  });

  it('maps Fastify’s body errors to our codes', async () => {
    const app = await appWithRoutes();
    const json = { 'content-type': 'application/json' };
    const tooLarge = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: json,
      payload: `"${'x'.repeat(200)}"`,
    });
    expect([tooLarge.statusCode, tooLarge.json().error.code]).toEqual([413, 'SB_INTAKE_BODY_TOO_LARGE']);
    const broken = await app.inject({ method: 'POST', url: '/echo', headers: json, payload: '{' });
    expect([broken.statusCode, broken.json().error.code]).toEqual([400, 'SB_INTAKE_INVALID_JSON']);
    const media = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/octet-stream' },
      payload: 'x',
    });
    expect([media.statusCode, media.json().error.code]).toEqual([415, 'SB_INTAKE_UNSUPPORTED_MEDIA_TYPE']);
  });

  it('maps a Fastify schema validation error to SB_INTAKE_INVALID_FIELD with the field', async () => {
    const app = await appWithRoutes();
    const missing = await app.inject({ method: 'POST', url: '/validated', payload: {} });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error).toMatchObject({ code: 'SB_INTAKE_INVALID_FIELD', field: 'name' });
  });

  it('answers unknown routes with 404 SB_INTAKE_ROUTE_NOT_FOUND', async () => {
    const app = await appWithRoutes();
    const res = await app.inject({ method: 'GET', url: '/nowhere?secret=1' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toEqual({
      code: 'SB_INTAKE_ROUTE_NOT_FOUND',
      message: 'No such route: GET /nowhere.',
    });
  });
});

describe('toSbError', () => {
  it('keeps SbErrors and maps other client errors by status', () => {
    const sb = new SbError('SB_INTAKE_NOT_FOUND');
    expect(toSbError(sb)).toBe(sb);
    expect(toSbError(Object.assign(new Error('x'), { statusCode: 405 })).code).toBe(
      'SB_INTAKE_METHOD_NOT_ALLOWED',
    );
    expect(toSbError(Object.assign(new Error('x'), { statusCode: 418 })).code).toBe(
      'SB_INTAKE_INVALID_FIELD',
    );
    expect(toSbError('boom').code).toBe('SB_INTERNAL');
  });
});
