// tessera users mfa list|reset: a user's second factors, and removing them all (a user who lost
// their authenticator and their recovery codes; they sign in with the password again, and enrol
// anew where a client requires it). Every reset is audited.
import type { Command } from 'commander';
import type { Run } from './context.ts';
import { table } from './output.ts';

export function registerUserMfaCommands(users: Command, run: Run): void {
  const mfa = users.command('mfa').description("a user's second factors (authenticator app, recovery codes)");

  mfa
    .command('list')
    .description("list a user's second factors")
    .argument('<id-or-email>')
    .action((who: string) =>
      run(async ({ users: service, queries }, out) => {
        const user = await service.find(who);
        const { totp, recoveryCodes } = await queries.secondFactors.describe(user.id);
        const factors = [
          ...(totp
            ? [
                {
                  kind: 'totp',
                  created_at: totp.createdAt.toISOString(),
                  last_used_at: totp.lastUsedAt?.toISOString() ?? null,
                },
              ]
            : []),
          ...(recoveryCodes > 0 ? [{ kind: 'recovery_codes', unused: recoveryCodes }] : []),
        ];
        out.result({ user_id: user.id, email: user.email, factors }, () =>
          factors.length
            ? table(
                ['KIND', 'ADDED', 'LAST USED', 'UNUSED'],
                factors.map((f) =>
                  'unused' in f
                    ? [f.kind, '', '', String(f.unused)]
                    : [f.kind, f.created_at, f.last_used_at ?? 'never', ''],
                ),
              )
            : `${user.email} has no second factor`,
        );
      }),
    );

  mfa
    .command('reset')
    .description(
      "remove all of a user's second factors (they sign in with the password, and enrol again where required)",
    )
    .argument('<id-or-email>')
    .action((who: string) =>
      run(async ({ users: service, queries, audit, actor }, out) => {
        const user = await service.find(who);
        const removed = await queries.secondFactors.removeAll(user.id);
        await audit.record({
          type: 'mfa.reset',
          actor,
          subject: user.id,
          details: { totp: removed.totp, recovery_codes: removed.recoveryCodes },
        });
        out.result(
          { reset: user.id, totp: removed.totp, recovery_codes: removed.recoveryCodes },
          () =>
            `removed the second factors of ${user.email}: ${removed.totp ? 'authenticator app' : 'no authenticator app'}, ${removed.recoveryCodes} unused recovery code(s)`,
        );
      }),
    );
}
