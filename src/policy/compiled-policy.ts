import type { PoolConfig } from '../config/index.ts';
import type { SenderSelector } from '../pacing/index.ts';
import {
  bareAddress,
  createRouter,
  createSenderRanker,
  type Router,
  sendableNumbers,
} from '../routing/index.ts';
import { type ContentLinter, createContentLinter } from './content-linter.ts';
import { createMediaChecker, type MediaChecker } from './media-checker.ts';
import type { PolicyConfig } from './policy-config.ts';
import { createTemplateCatalog, type TemplateCatalog, type TemplateConfig } from './template-catalog.ts';

/** What the policy engine is built from: the reloadable part of the gateway config. */
export interface PolicySources {
  pools: readonly PoolConfig[];
  templates: readonly TemplateConfig[];
  policy: PolicyConfig;
}

/** The policy config turned into fast structures, built once per load or reload. */
export interface CompiledPolicy {
  sources: PolicySources;
  policy: PolicyConfig;
  /** Routes to pools that have at least one sendable (registered) number. */
  router: Router;
  /** Routes regardless of registration: tells "no pool" from "no registered sender". */
  anyRouter: Router;
  linter: ContentLinter;
  catalog: TemplateCatalog;
  mediaChecker: MediaChecker;
  pools: ReadonlyMap<string, PoolConfig>;
  /** The pool each sender number belongs to (for opt-out scopes and WhatsApp sessions). */
  poolOfSender: ReadonlyMap<string, PoolConfig>;
  /** Per pool: which numbers may send and which are preferred for a recipient. */
  selectors: ReadonlyMap<string, SenderSelector>;
  blockedCountries: ReadonlySet<string>;
  /** When the registration-dependent parts were computed (they are refreshed as time passes). */
  builtAt: number;
}

/**
 * Compiles the policy: linter, template catalog, routers, sender selectors (registration and
 * geomatch) and lookup maps. Pure apart from the media checker's cache; cheap enough to run
 * again every few seconds so that registrations expire on time.
 */
export function compilePolicy(
  sources: PolicySources,
  now: number,
  previous?: CompiledPolicy,
): CompiledPolicy {
  const selectors = new Map<string, SenderSelector>();
  const registered: PoolConfig[] = [];
  for (const pool of sources.pools) {
    const sendable = sendableNumbers(pool, now);
    const ranker = createSenderRanker(sendable);
    const depth = pool.geomatch === 'country' ? 'country' : 'area_code';
    selectors.set(pool.id, {
      sendable,
      preferred: pool.geomatch === 'off' ? () => sendable : (recipient) => ranker.preferred(recipient, depth),
    });
    if (sendable.length > 0) registered.push(pool);
  }
  const poolOfSender = new Map<string, PoolConfig>();
  for (const pool of sources.pools)
    for (const n of pool.numbers) poolOfSender.set(bareAddress(n.address), pool);
  const reuse = previous && previous.sources === sources;
  return {
    sources,
    policy: sources.policy,
    router: createRouter(registered),
    anyRouter: reuse ? previous.anyRouter : createRouter(sources.pools),
    linter: reuse ? previous.linter : createContentLinter(sources.policy.content),
    catalog: reuse
      ? previous.catalog
      : createTemplateCatalog(sources.templates, { defaultLocale: sources.policy.defaultLocale }),
    mediaChecker: reuse ? previous.mediaChecker : createMediaChecker(sources.policy.media),
    pools: new Map(sources.pools.map((p) => [p.id, p])),
    poolOfSender,
    selectors,
    blockedCountries: new Set(sources.policy.blockedCountries),
    builtAt: now,
  };
}
