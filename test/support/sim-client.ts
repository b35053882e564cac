import type { Simulator } from '../../src/simulator/index.ts';

/** Basic auth header for the simulator's default account. */
export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** Sends a Twilio-style create through the simulator's in-process HTTP stack (no port). */
export async function createMessage(
  sim: Simulator,
  params: Record<string, string | string[]>,
  auth = basicAuth(sim.accountSid, sim.authToken),
) {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) form.append(k, x);
  const res = await sim.app.inject({
    method: 'POST',
    url: `/2010-04-01/Accounts/${sim.accountSid}/Messages.json`,
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    payload: form.toString(),
  });
  return { status: res.statusCode, json: res.json() as Record<string, unknown> };
}

/** Calls the simulator's admin API in-process. */
export async function admin(
  sim: Simulator,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  body?: unknown,
) {
  const res = await sim.app.inject({
    method,
    url,
    ...(body === undefined ? {} : { payload: body as object }),
  });
  return {
    status: res.statusCode,
    json: res.json() as Record<string, unknown> & { messages?: InspectedMessage[] },
  };
}

/** A message as `/sim/messages` shows it. */
export interface InspectedMessage {
  sid: string;
  from: string;
  to: string;
  body: string;
  status: string;
  errorCode: number | null;
  createdAt: number;
  sentAt: number | null;
  responseLost: boolean;
  history: { status: string; at: number; errorCode: number | null }[];
  callbacks: {
    status: string;
    disposition: string;
    errorCode: number | null;
    httpStatus: number | null;
    attempt: number;
  }[];
}

/** Every message the simulator accepted. */
export async function inspected(sim: Simulator): Promise<InspectedMessage[]> {
  return (await admin(sim, 'GET', '/sim/messages')).json.messages ?? [];
}

/** Polls until the predicate holds, or fails after the time limit. */
export async function waitFor<T>(
  fn: () => Promise<T> | T,
  ok: (v: T) => boolean,
  timeoutMs = 10_000,
  stepMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(v).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Carrier overrides that make every US carrier fast and perfectly reliable. */
export const FAST_RELIABLE_US = Object.fromEntries(
  ['att', 'tmobile', 'verizon', 'uscellular'].map((id) => [
    id,
    {
      latencyMedianMs: 20,
      latencyP95Ms: 40,
      unreachableRate: 0,
      unknownNumberRate: 0,
      landlineRate: 0,
      unknownErrorRate: 0,
    },
  ]),
);
