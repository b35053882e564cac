import { describe, expect, it } from 'vitest';
import { useSuiteFixture } from './suite-fixture.ts';

describe('useSuiteFixture', () => {
  let started = 0;
  const fixture = useSuiteFixture(
    'the counter',
    async () => ({ n: ++started }),
    async () => {},
  );
  let outside = '';
  try {
    void fixture.n;
  } catch (err) {
    outside = (err as Error).message;
  }

  it('refuses a read while the suite is being collected, before the fixture is started', () => {
    expect(outside).toBe('the counter is available only inside tests');
  });

  it('reads the started value inside the tests, started once for the suite', () => {
    expect(fixture.n).toBe(1);
    expect(started).toBe(1);
  });
});
