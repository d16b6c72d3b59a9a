// tessera keys list|rotate|retire|rewrap
import type { Command } from 'commander';
import { keyPolicy } from '../keys/key-policy.ts';
import { advanceKeys, keySchedule, retireCompromised, rotateKeys } from '../keys/lifecycle.ts';
import { seal, unsealWithAny } from '../keys/seal.ts';
import { totpSecretAad } from '../mfa/totp.ts';
import type { Run } from './context.ts';
import { table } from './output.ts';

export function registerKeyCommands(program: Command, run: Run): void {
  const keys = program.command('keys').description('signing keys (see README: Signing keys and rotation)');

  keys
    .command('list')
    .description('list signing keys and their state')
    .action(() =>
      run(async ({ config, queries }, out) => {
        const policy = keyPolicy(config, queries.apis);
        const keys = await queries.signingKeys.list();
        const schedule = keySchedule(keys, policy, await policy.retention());
        const list = keys.map((k) => {
          const when = schedule.get(k.kid)!;
          return {
            kid: k.kid,
            alg: k.alg,
            state: k.state,
            created_at: k.createdAt.toISOString(),
            // Past steps as they happened, future ones as planned now (see keySchedule).
            activates_at: when.activatesAt.toISOString(),
            retires_at: when.retiresAt.toISOString(),
            unpublish_at: when.unpublishAt.toISOString(),
          };
        });
        out.result(list, () =>
          list.length
            ? table(
                ['KID', 'ALG', 'STATE', 'CREATED', 'ACTIVATES', 'RETIRES', 'LEAVES JWKS'],
                list.map((k) => [k.kid, k.alg, k.state, k.created_at, k.activates_at, k.retires_at, k.unpublish_at]),
              )
            : 'no keys yet (the server creates the first)',
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
      're-seal every private key and authenticator secret under KEYS_ENCRYPTION_KEY (opening them with it or KEYS_ENCRYPTION_KEY_PREVIOUS)',
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
        // Authenticator-app secrets are sealed under the same key (mfa/totp.ts).
        let secrets = 0;
        for (const { userId, secretEnc } of await queries.secondFactors.sealedSecrets()) {
          const aad = totpSecretAad(userId);
          const resealed = seal(unsealWithAny(secretEnc, policy.keks, aad), policy.kek, aad);
          if (await queries.secondFactors.reseal(userId, secretEnc, resealed)) secrets++;
        }
        await audit.record({ type: 'key.rewrapped', actor, details: { keys: count, totp_secrets: secrets } });
        out.result(
          { rewrapped: count, totp_secrets: secrets },
          () =>
            `re-sealed ${count} key(s) and ${secrets} authenticator secret(s) under KEYS_ENCRYPTION_KEY; KEYS_ENCRYPTION_KEY_PREVIOUS can now be removed`,
        );
      }),
    );
}
