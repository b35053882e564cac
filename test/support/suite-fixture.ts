import { afterAll, beforeAll } from 'vitest';

/**
 * A value started before the enclosing suite's tests and stopped after them. The returned object
 * reads the current value's properties, so a suite can hold it from its body; reading one
 * outside the tests throws.
 */
export function useSuiteFixture<T extends object>(
  what: string,
  start: () => Promise<T>,
  stop: (value: T) => Promise<void>,
): T {
  let current: T | null = null;
  beforeAll(async () => {
    current = await start();
  });
  afterAll(async () => {
    if (current) await stop(current);
    current = null;
  });
  return new Proxy({} as T, {
    get(_target, key) {
      if (current) return Reflect.get(current, key);
      if (typeof key === 'symbol') return undefined;
      throw new Error(`${what} is available only inside tests`);
    },
  });
}
