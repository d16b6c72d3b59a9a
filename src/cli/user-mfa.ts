// tessera users mfa list|reset: a user's second factors, and removing them all (a user who lost
// their authenticator and their recovery codes; they sign in with the password again, and enrol
// anew where a client requires it). Every reset is audited (services/user-mfa.ts). Both work in
// remote mode too (GET/DELETE /admin/v1/users/{user}/mfa).
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
      run(async ({ mfa: service }, out) => {
        const listed = await service.list(who);
        out.result(listed, () =>
          listed.factors.length
            ? table(
                ['KIND', 'ADDED', 'LAST USED', 'UNUSED'],
                listed.factors.map((f) =>
                  f.kind === 'recovery_codes'
                    ? [f.kind, '', '', String(f.unused)]
                    : [f.kind, f.created_at, f.last_used_at ?? 'never', ''],
                ),
              )
            : `${listed.email} has no second factor`,
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
      run(async ({ mfa: service }, out) => {
        const removed = await service.reset(who);
        out.result(
          { reset: removed.user_id, totp: removed.totp, recovery_codes: removed.recovery_codes },
          () =>
            `removed the second factors of ${removed.email}: ${removed.totp ? 'authenticator app' : 'no authenticator app'}, ${removed.recovery_codes} unused recovery code(s)`,
        );
      }),
    );
}
