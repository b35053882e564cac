import type { AccountRegistry } from './accounts.ts';
import type { CarrierNetwork } from './carriers.ts';
import type { Clock } from './clock.ts';
import type { Determinism } from './determinism.ts';
import type { FaultState } from './faults.ts';
import type { MessageEngine } from './message-engine.ts';
import type { SimAccount } from './model.ts';
import type { SimConfig } from './sim-config.ts';
import type { WebhookClient } from './webhook-client.ts';

/** The simulator's parts, shared by its route modules. */
export interface SimContext {
  config: SimConfig;
  clock: Clock;
  det: Determinism;
  accounts: AccountRegistry;
  carriers: CarrierNetwork;
  faults: FaultState;
  webhooks: WebhookClient;
  engine: MessageEngine;
  /** The base URL the simulator is reached at (for absolute URLs in v1+ APIs). */
  baseUrl(): string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The account a Twilio API request authenticated for (set by the auth hook). */
    simAccount?: SimAccount;
  }
}
