import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { expect } from 'vitest';
import { type SimConfigInput, type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { FAST_RELIABLE_US, waitFor } from '../support/sim-client.ts';
import { useSuiteFixture } from '../support/suite-fixture.ts';

// port through its own extension point (each domain's `baseUrl`, edge and region unset).

export const SEED = 7;
/** A registered 10DLC long code of the default account, sped up so nothing waits in its queue. */
export const FROM = '+14155550100';
export const US_CARRIER_NAMES = ['AT&T Wireless', 'T-Mobile USA, Inc.', 'Verizon Wireless', 'U.S. Cellular'];
export const FINAL_STATUSES = ['delivered', 'undelivered', 'failed', 'read'];

export const FAST_CONFIG: SimConfigInput = {
  carriers: FAST_RELIABLE_US,
  senders: [{ address: FROM, type: 'long_code', mps: 1000 }],
};

/** A twilio-node client that talks to the simulator. */
export function clientFor(
  sim: Simulator,
  username: string = sim.accountSid,
  password: string = sim.authToken,
  opts: twilio.ClientOpts = {},
): twilio.Twilio {
  const client = twilio(username, password, opts);
  client.api.baseUrl = sim.url;
  client.lookups.baseUrl = sim.url;
  return client;
}

/** Re-reads until the value is accepted; fails after the time limit with the last value seen. */
export function poll<T>(read: () => Promise<T> | T, done: (v: T) => boolean, timeoutMs = 3_000): Promise<T> {
  return waitFor(read, done, timeoutMs, 15);
}

/** The part of a twilio-node list page the paging test walks through. */
export interface SdkPage {
  instances: { sid: string }[];
  nextPageUrl?: string;
  nextPage(): Promise<SdkPage> | undefined;
}

/** A message as the simulator's admin API (`GET /sim/messages`) shows it. */
export interface SimMessageView {
  sid: string;
  accountSid: string;
  body: string;
  status: string;
}

export async function simMessages(sim: Simulator): Promise<SimMessageView[]> {
  const res = await fetch(`${sim.url}/sim/messages`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { messages: SimMessageView[] }).messages;
}

/** One webhook request as the receiver saw it. */
export interface ReceivedRequest {
  /** The URL as the receiver reconstructs it from the Host header and request target. */
  url: string;
  headers: IncomingHttpHeaders;
  params: Record<string, string>;
}

export interface Receiver {
  url: string;
  received: ReceivedRequest[];
  close(): Promise<void>;
}

/** A loopback HTTP server that records form-encoded webhooks and answers 204. */
export async function startReceiver(): Promise<Receiver> {
  const received: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        url: `http://${req.headers.host}${req.url}`,
        headers: req.headers,
        params: Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The callbacks received for a message. */
export function callbacksOf(rx: Receiver, sid: string): ReceivedRequest[] {
  return rx.received.filter((r) => r.params.MessageSid === sid);
}

/** Waits until each message has had its final-status callback; returns all their callbacks. */
export async function finalCallbacks(rx: Receiver, sids: string[]): Promise<ReceivedRequest[]> {
  await poll(
    () =>
      sids.filter(
        (sid) => !callbacksOf(rx, sid).some((r) => FINAL_STATUSES.includes(r.params.MessageStatus!)),
      ),
    (missing) => missing.length === 0,
  );
  return rx.received.filter((r) => sids.includes(r.params.MessageSid!));
}

export function signatureOf(r: ReceivedRequest): string {
  const sig = r.headers['x-twilio-signature'];
  expect(typeof sig).toBe('string');
  return sig as string;
}

/** What the SDK tests share: a simulator, a twilio-node client for it and a webhook receiver. */
export interface SdkFixture {
  sim: Simulator;
  client: twilio.Twilio;
  rx: Receiver;
  stop(): Promise<void>;
}

/** Starts the receiver and a simulator (seed `SEED`, fast reliable US carriers) with a client. */
export async function startSdkFixture(): Promise<SdkFixture> {
  const rx = await startReceiver();
  const sim = await startSimulator({ seed: SEED, config: FAST_CONFIG });
  return {
    sim,
    rx,
    client: clientFor(sim),
    async stop() {
      await sim.stop();
      await rx.close();
    },
  };
}

/**
 * Starts the fixture before the enclosing suite's (or file's) tests and stops it after; read its
 * fields inside the tests.
 */
export function useSdkFixture(): Omit<SdkFixture, 'stop'> {
  return useSuiteFixture('the SDK fixture', startSdkFixture, (fixture) => fixture.stop());
}
