import { describe, expect, it } from 'vitest';
import { Semaphore } from './semaphore.ts';

const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('Semaphore', () => {
  it('wakes only the next waiter at each release, in arrival order', async () => {
    const lock = new Semaphore(1);
    const woken: number[] = [];
    await lock.acquire();
    const waiters = [1, 2, 3].map((n) => lock.acquire().then(() => woken.push(n)));
    await settle();
    expect(woken).toEqual([]);

    lock.release();
    await settle();
    expect(woken).toEqual([1]);

    lock.release();
    lock.release();
    await Promise.all(waiters);
    expect(woken).toEqual([1, 2, 3]);

    // Free again: the next acquire gets it at once, and a second one waits.
    lock.release();
    await lock.acquire();
    let second = false;
    void lock.acquire().then(() => {
      second = true;
    });
    await settle();
    expect(second).toBe(false);
  });

  it('lets as many holders in as it has permits', async () => {
    const permits = new Semaphore(2);
    const held: number[] = [];
    for (const n of [1, 2, 3]) void permits.acquire().then(() => held.push(n));
    await settle();
    expect(held).toEqual([1, 2]);
    permits.release();
    await settle();
    expect(held).toEqual([1, 2, 3]);
  });
});
