// tessera users create|invite|verify-email|reset-password|list|show|disable|enable|set-password|delete,
// tessera users sessions list|revoke, tessera users mfa list|reset, and tessera grants list|revoke
import type { Command } from 'commander';
import { InvalidInput } from '../errors.ts';
import type { UserView } from '../services/users.ts';
import type { Run } from './context.ts';
import { table } from './output.ts';
import { registerUserMfaCommands } from './user-mfa.ts';

/** The password from standard input (so that it is in no process list or shell history). */
async function readPasswordFromStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new InvalidInput(
      '--password-stdin reads the password from standard input, e.g. printf %s "$PW" | tessera ...',
    );
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (!password) throw new InvalidInput('no password on standard input');
  return password;
}

export function registerUserCommands(program: Command, run: Run): void {
  const users = program.command('users').description('people who sign in');

  users
    .command('create')
    .description('create a user')
    .requiredOption('--email <email>')
    .option('--password-stdin', 'read the password from standard input')
    .option('--name <name>')
    .option('--given-name <name>')
    .option('--family-name <name>')
    .option('--locale <tag>', 'the user\'s language, e.g. de: mail to them is in it (README "Pages and languages")')
    .option('--email-verified', 'the email address is known to belong to the user')
    .option(
      '--send-verification',
      'mail the user a link to confirm the address (email_verified stays false until then)',
    )
    .action((opts) =>
      run(async (ctx, out) => {
        const password = opts.passwordStdin ? await readPasswordFromStdin() : undefined;
        const input = {
          email: opts.email,
          password,
          name: opts.name,
          givenName: opts.givenName,
          familyName: opts.familyName,
          locale: opts.locale,
          emailVerified: opts.emailVerified === true,
        };
        // Whether the mail can go is checked before the user is created (services/admin-services.ts).
        const user = opts.sendVerification
          ? await ctx.users.createAndMail(input, 'verification')
          : await ctx.users.create(input);
        out.result(
          user,
          () =>
            `created user ${user.email} (${user.id})${password ? '' : ' without a password: set one with users set-password'}`,
        );
      }),
    );

  users
    .command('invite')
    .description('create a user without a password and mail them a link to choose one (SIGNUP=invite)')
    .requiredOption('--email <email>')
    .option('--name <name>')
    .option('--locale <tag>', "the user's language, e.g. de: the invitation is in it")
    .action((opts) =>
      run(async ({ users: service }, out) => {
        const user = await service.createAndMail(
          { email: opts.email, name: opts.name, locale: opts.locale },
          'invitation',
        );
        out.result(user, () => `invited ${user.email} (${user.id}): the link in the mail works for 7 days`);
      }),
    );

  users
    .command('verify-email')
    .description('mail a user a link to confirm their address, or mark it confirmed')
    .argument('<id-or-email>')
    .option('--mark-verified', 'mark the address confirmed without a link (you know it is theirs)')
    .action((who: string, opts) =>
      run(async ({ users: service, userMail }, out) => {
        if (opts.markVerified) {
          const user = await service.markEmailVerified(who);
          out.result({ verified: user.id }, () => `marked ${user.email} verified`);
          return;
        }
        const user = await service.show(who);
        await userMail.sendVerification(user.id);
        out.result({ sent: user.id }, () => `mailed ${user.email} a link to confirm the address`);
      }),
    );

  users
    .command('reset-password')
    .description('mail a user a link to choose a new password (valid 30 minutes)')
    .argument('<id-or-email>')
    .requiredOption('--send-link', 'mail the link (the only way: no one but the user sees the password)')
    .action((who: string) =>
      run(async ({ userMail }, out) => {
        const user = await userMail.sendPasswordReset(who);
        out.result({ sent: user.id }, () => `mailed ${user.email} a link to choose a new password (valid 30 minutes)`);
      }),
    );

  const sessions = users.command('sessions').description("a user's sessions (signed-in browsers)");
  sessions
    .command('list')
    .description("list a user's sessions")
    .argument('<id-or-email>')
    .action((who: string) =>
      run(async ({ users: service, grants }, out) => {
        const user = await service.show(who);
        const list = (await grants.listSessions(user.id)).map((s) => ({
          uid: s.session_uid,
          signed_in_at: s.login_at,
          amr: s.amr,
          expires_at: s.expires_at,
        }));
        out.result(list, () =>
          list.length
            ? table(
                ['UID', 'SIGNED_IN', 'METHODS', 'EXPIRES'],
                list.map((s) => [s.uid, s.signed_in_at ?? '?', s.amr.join(',') || '-', s.expires_at ?? 'never']),
              )
            : 'no sessions',
        );
      }),
    );
  sessions
    .command('revoke')
    .description('sign a user out everywhere: every session, grant and refresh token ends')
    .argument('<id-or-email>')
    .action((who: string) =>
      // Also in remote mode (the admin API's DELETE /users/{user}/sessions).
      run(async ({ users: service, grants }, out) => {
        const user = await service.show(who);
        // The apps of the ended sessions get a back-channel logout token (services/grants.ts).
        const ended = await grants.endAllSessions(user.id);
        out.result(
          { revoked: user.id, ...ended },
          () => `signed ${user.email} out everywhere: ${ended.sessions} session(s), ${ended.grants} grant(s) ended`,
        );
      }),
    );

  users
    .command('list')
    .description('list users')
    .action(() =>
      run(async ({ users: service }, out) => {
        const all = await service.list();
        out.result(all, () =>
          all.length
            ? table(
                ['ID', 'EMAIL', 'STATUS'],
                all.map((u) => [u.id, u.email, u.disabled ? 'disabled' : 'active']),
              )
            : 'no users',
        );
      }),
    );

  users
    .command('show')
    .description('show a user')
    .argument('<id-or-email>')
    .action((who: string) =>
      run(async ({ users: service }, out) => {
        const user = await service.show(who);
        out.result(user, () => describe(user));
      }),
    );

  users
    .command('update')
    .description("change a user's language (the mail they are sent is in it)")
    .argument('<id-or-email>')
    .option('--locale <tag>', 'a language tag, e.g. de or de-AT')
    .option('--clear-locale', 'forget the language: mail follows the pages the user last used, else English')
    .action((who: string, opts) =>
      run(async ({ users: service }, out) => {
        if (opts.locale !== undefined && opts.clearLocale)
          throw new InvalidInput('give --locale or --clear-locale, not both');
        const user = await service.update(who, { locale: opts.clearLocale ? null : opts.locale });
        out.result(user, () => `updated user ${user.email}: locale ${user.locale ?? 'not set'}`);
      }),
    );

  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    users
      .command(name)
      .description(`${name} a user${disabled ? ' (sign-in, sessions and refresh tokens stop working)' : ''}`)
      .argument('<id-or-email>')
      .action((who: string) =>
        run(async ({ users: service }, out) => {
          const user = await service.setDisabled(who, disabled);
          out.result(user, () => `${name}d user ${user.email}`);
        }),
      );
  }

  users
    .command('set-password')
    .description("set a user's password")
    .argument('<id-or-email>')
    .requiredOption('--password-stdin', 'read the password from standard input')
    .action((who: string) =>
      run(async ({ users: service }, out) => {
        const user = await service.setPassword(who, await readPasswordFromStdin());
        out.result(user, () => `set the password of ${user.email}`);
      }),
    );

  users
    .command('delete')
    .description('delete a user, their consents and grants')
    .argument('<id-or-email>')
    .action((who: string) =>
      // Its grants too (services/admin-services.ts); also in remote mode (DELETE /users/{user}).
      run(async ({ users: service }, out) => {
        const user = await service.delete(who);
        out.result({ deleted: user.id }, () => `deleted user ${user.email}`);
      }),
    );

  registerUserMfaCommands(users, run);

  const grants = program.command('grants').description('what users have authorized (refresh-token families)');
  grants
    .command('list')
    .description("list a user's grants")
    .argument('<id-or-email>')
    .action((who: string) =>
      // Also in remote mode (GET /users/{user}/grants): the user by show, which both modes have.
      run(async ({ users: service, grants: grantsOf }, out) => {
        const list = await grantsOf.list((await service.show(who)).id);
        out.result(list, () =>
          list.length
            ? table(
                ['GRANT_ID', 'CLIENT_ID', 'SCOPE', 'EXPIRES'],
                list.map((g) => [g.grant_id, g.client_id, g.scope, g.expires_at ?? 'never']),
              )
            : 'no grants',
        );
      }),
    );
  grants
    .command('revoke')
    .description('revoke a grant: its refresh tokens stop working, its access tokens introspect inactive')
    .argument('<grant_id>')
    .option('--forget-consent', 'also forget what the user approved for that client')
    .action((grantId: string, opts) =>
      run(async ({ grants: service }, out) => {
        await service.revoke(grantId, { forgetConsent: opts.forgetConsent === true });
        out.result({ revoked: grantId }, () => `revoked grant ${grantId}`);
      }),
    );
}

function describe(u: UserView): string {
  return [
    `id:       ${u.id}`,
    `email:    ${u.email}${u.email_verified ? ' (verified)' : ''}`,
    ...(u.name ? [`name:     ${u.name}`] : []),
    `locale:   ${u.locale ?? 'not set'}`,
    `status:   ${u.disabled ? 'disabled' : 'active'}`,
    `password: ${u.has_password ? 'set' : 'not set'}`,
    `last sign-in: ${u.last_login_at ?? 'never'}`,
  ].join('\n');
}
