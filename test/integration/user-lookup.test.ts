// Looking a user up by id: an id that cannot be a user's is "not found" without asking the
// database, and a database that cannot answer is an error, never "no such account" (which would
// end sessions and read as a wrong sign-in during an outage).
import { randomUUID } from 'node:crypto';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createDatabase } from '../../src/db/client.ts';
import { createQueries } from '../../src/db/queries/index.ts';
import { NotFound } from '../../src/errors.ts';
import { accountFinder } from '../../src/oidc/account.ts';
import { userService } from '../../src/services/users.ts';

const ctx = {} as KoaContextWithOIDC;
const db = createDatabase({ url: inject('databaseUrl'), poolMax: 2 });
// Nothing listens on port 1: every connection is refused at once, as in an outage.
const down = createDatabase({ url: 'postgresql://postgres@127.0.0.1:1/tessera', poolMax: 1 });
afterAll(async () => {
  await db.close();
  await down.close();
});

describe('user lookup by id', () => {
  it('answers "not found" for an id that is no uuid, and for an unknown one', async () => {
    const queries = createQueries(db);
    await expect(accountFinder(queries.users)(ctx, 'not-a-uuid')).resolves.toBeUndefined();
    await expect(accountFinder(queries.users)(ctx, randomUUID())).resolves.toBeUndefined();
    await expect(userService(queries.users).show('not-a-uuid')).rejects.toEqual(new NotFound('no user not-a-uuid'));
  });

  it('rejects when the database cannot answer, instead of "not found"', async () => {
    const queries = createQueries(down);
    const id = randomUUID();
    await expect(accountFinder(queries.users)(ctx, id)).rejects.toThrow();
    const lookup = userService(queries.users).show(id);
    await expect(lookup).rejects.toThrow();
    await expect(lookup).rejects.not.toBeInstanceOf(NotFound);
  });
});
