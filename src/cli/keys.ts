// tessera keys list|rotate|retire|rewrap
import type { Command } from 'commander';
import { keyPolicy } from '../keys/key-policy.ts';
import { advanceKeys, retireCompromised, rotateKeys } from '../keys/lifecycle.ts';
import { seal, unsealWithAny } from '../keys/seal.ts';
import type { Run } from './context.ts';

export function registerKeyCommands(program: Command, run: Run): void {
  const keys = program.command('keys').description('signing keys (see README: Signing keys and rotation)');

  keys
    .command('list')
    .description('list signing keys and their state')
    .action(() =>
      run(async ({ queries }, out) => {
        const list = (await queries.signingKeys.list()).map((k) => ({
          kid: k.kid,
          alg: k.alg,
          state: k.state,
          created_at: k.createdAt.toISOString(),
          activated_at: k.activatedAt?.toISOString() ?? null,
          retired_at: k.retiredAt?.toISOString() ?? null,
          unpublish_at: k.unpublishAt?.toISOString() ?? null,
        }));
        out.result(
          list,
          () =>
            list
              .map((k) => `${k.kid}\t${k.alg}\t${k.state}${k.state === 'retired' ? ` until ${k.unpublish_at}` : ''}`)
              .join('\n') || 'no keys yet (the server creates the first)',
        );
      }),
    );

  keys
    .command('rotate')
    .description(
      'publish a new key now; it starts signing after KEYS_PUBLICATION_DELAY, and the current key retires then',
    )
    .action(() =>
      run(async ({ config, queries, audit, actor }, out) => {
        const policy = keyPolicy(config, queries.apis);
        await advanceKeys(queries.signingKeys, policy);
        const [kid, ...others] = await rotateKeys(queries.signingKeys, policy);
        await audit.record({ type: 'key.published', actor, subject: kid, details: { others } });
        const signsAt = new Date(Date.now() + config.keys.publicationDelay * 1000).toISOString();
        out.result(
          { kid, others, state: 'next', signs_from: signsAt },
          () =>
            `published key ${[kid, ...others].join(', ')}; it signs from about ${signsAt} (every server picks it up by itself)`,
        );
      }),
    );

  keys
    .command('retire')
    .description('EMERGENCY: remove a compromised key from the JWKS now; every token it signed stops verifying')
    .argument('<kid>')
    .requiredOption('--compromised', 'confirm that this key is compromised and its tokens must die now')
    .action((kid: string) =>
      run(async ({ config, queries, audit, actor }, out) => {
        const { newKid } = await retireCompromised(queries.signingKeys, keyPolicy(config, queries.apis), kid);
        await audit.record({
          type: 'key.retired_compromised',
          actor,
          subject: kid,
          details: { signing_kid: newKid ?? null },
        });
        process.stderr.write(
          `WARNING: key ${kid} is out of the JWKS. Every token it signed is now invalid; users and services must sign in again.\n`,
        );
        out.result(
          { retired: kid, signing_kid: newKid ?? null },
          () => `retired ${kid}${newKid ? `; ${newKid} signs from now` : ''}`,
        );
      }),
    );

  keys
    .command('rewrap')
    .description(
      're-seal every private key under KEYS_ENCRYPTION_KEY (opening them with it or KEYS_ENCRYPTION_KEY_PREVIOUS)',
    )
    .action(() =>
      run(async ({ config, queries, audit, actor }, out) => {
        const policy = keyPolicy(config, queries.apis);
        let count = 0;
        await queries.signingKeys.change(async (tx) => {
          for (const key of await tx.list()) {
            await tx.setSealed(
              key.kid,
              seal(unsealWithAny(key.privateJwkEnc, policy.keks, key.kid), policy.kek, key.kid),
            );
            count++;
          }
          return false; // the keys themselves did not change: nobody needs to reload
        });
        await audit.record({ type: 'key.rewrapped', actor, details: { keys: count } });
        out.result(
          { rewrapped: count },
          () => `re-sealed ${count} key(s) under KEYS_ENCRYPTION_KEY; KEYS_ENCRYPTION_KEY_PREVIOUS can now be removed`,
        );
      }),
    );
}
