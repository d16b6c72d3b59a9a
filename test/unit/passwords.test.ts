// Password hashing: argon2id round trip, and the bound on hashes running at once.
import { describe, expect, it } from 'vitest';
import { concurrencyLimit, hashPassword, isArgon2idHash, verifyPassword } from '../../src/services/passwords.ts';

describe('password hashes', () => {
  it('are argon2id with the configured cost, and verify only the right password', async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(isArgon2idHash(stored)).toBe(true);
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(stored, 'correct horse battery staple')).toBe(true);
    expect(await verifyPassword(stored, 'correct horse battery stapler')).toBe(false);
    expect(await verifyPassword('not a hash', 'x')).toBe(false);
  });
});

describe('concurrencyLimit', () => {
  it('runs at most max at once, the rest in arrival order, and frees slots on failure', async () => {
    const limited = concurrencyLimit(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const finish: (() => void)[] = [];
    const job = (i: number) =>
      limited(async () => {
        started.push(i);
        running++;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => finish.push(resolve));
        running--;
        if (i === 1) throw new Error('job 1 fails');
        return i;
      });
    const jobs = [0, 1, 2, 3, 4].map(job);
    const settled = Promise.allSettled(jobs);
    const tick = () => new Promise((r) => setTimeout(r, 0));
    await tick();
    expect(started).toEqual([0, 1]);
    for (let i = 0; i < 5; i++) {
      finish.shift()!();
      await tick();
    }
    const results = await settled;
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    // After a failure the limit still admits new work.
    expect(await limited(async () => 'after')).toBe('after');
  });
});
