// User accounts: registration by admins, sign-in checks. No Koa here.
import type { PagePosition } from '../db/queries/paging.ts';
import { isUserId, type UserQueries, type UserRecord } from '../db/queries/users.ts';
import { Conflict, createOrConflict, InvalidInput, NotFound } from '../errors.ts';
import { noAudit, type Audit } from './audit.ts';
import { checkNewPassword } from './password-policy.ts';
import { localeOfTag } from '../i18n/locale.ts';
import { LOCALES } from '../i18n/messages.ts';
import { hashPassword, isArgon2idHash, PASSWORD_MAX, verifyAgainstNothing, verifyPassword } from './passwords.ts';

export interface UserInput {
  email: string;
  /** The password itself (hashed here) or, from a seed file, an argon2id hash. */
  password?: string | undefined;
  passwordHash?: string | undefined;
  name?: string | undefined;
  givenName?: string | undefined;
  familyName?: string | undefined;
  /** The user's language (a tag of a supported language: "de", "de-AT"); mail to them is in it. */
  locale?: string | undefined;
  emailVerified?: boolean | undefined;
}

/** What an admin may change of a user (`users update`, PATCH /users/{user}); null clears the locale. */
export interface UserChanges {
  disabled?: boolean | undefined;
  locale?: string | null | undefined;
}

// A BCP 47 tag as the OpenID Connect `locale` claim carries it (Core §5.1): a language, then
// subtags (region, script); 35 characters hold any tag people use (RFC 5646 §4.4.1).
const LANGUAGE_TAG = /^[a-z]{2,3}(-[a-z0-9]{1,8})*$/i;

/**
 * A user's locale as given by an admin: a well-formed tag of a language Tessera speaks (mail in
 * any other could not be sent in it), kept as given ("de-AT" stays, for the `locale` claim).
 */
export function checkLocale(tag: string): string {
  const trimmed = tag.trim().replace(/_/g, '-');
  if (trimmed.length > 35 || !LANGUAGE_TAG.test(trimmed) || !localeOfTag(trimmed))
    throw new InvalidInput(
      `${JSON.stringify(tag)} is not a language Tessera speaks: use a language tag of ${LOCALES.join(', ')} (e.g. de or de-AT)`,
    );
  return trimmed;
}

// Deliberately simple: one @, something on each side, no spaces. Deliverability is the
// operator's business; this only catches typos such as a missing @.
const EMAIL = /^[^\s@]+@[^\s@]+$/;

/**
 * The form emails are compared in (users.email_normalized, unique): Unicode NFC, so that "é" as
 * one code point and "e" + U+0301 are one address, then trimmed and lower-cased. NFC again after
 * lower-casing: a lower-case mapping may leave a sequence that composes.
 */
export const normalizeEmail = (email: string) => email.normalize('NFC').trim().toLowerCase().normalize('NFC');

export function describeUser(u: UserRecord) {
  return {
    id: u.id,
    email: u.email,
    email_verified: u.emailVerified,
    name: u.name,
    given_name: u.givenName,
    family_name: u.familyName,
    /** The user's language: mail to them is in it (set by an admin, or by the pages they use). */
    locale: u.locale,
    disabled: u.disabled,
    has_password: u.passwordHash !== null,
    last_login_at: u.lastLoginAt?.toISOString() ?? null,
    created_at: u.createdAt.toISOString(),
    /** The version If-Match compares (the admin API's ETag). */
    updated_at: u.updatedAt.toISOString(),
  };
}

export type UserView = ReturnType<typeof describeUser>;

/** The password policy's minimum length (PASSWORD_MIN_LENGTH) for passwords set through this service. */
export interface UserServiceOptions {
  passwordMinLength: number;
}

export function userService(
  users: UserQueries,
  audit: Audit = noAudit,
  actor = 'system',
  options: UserServiceOptions = { passwordMinLength: 12 },
) {
  // A password chosen here meets the same policy as one chosen on a page (password-policy.ts);
  // a seed file's argon2id hash cannot be checked and is taken as it is.
  const checkPassword = (password: string, email: string) =>
    checkNewPassword(password, options.passwordMinLength, [email]);

  async function passwordHashFor(input: UserInput): Promise<string | undefined> {
    if (input.passwordHash !== undefined) {
      if (!isArgon2idHash(input.passwordHash))
        throw new InvalidInput('a password hash must be an argon2id hash ($argon2id$v=19$...)');
      return input.passwordHash;
    }
    if (input.password !== undefined) {
      await checkPassword(input.password, input.email);
      return hashPassword(input.password);
    }
    return undefined;
  }

  async function find(idOrEmail: string): Promise<UserRecord> {
    const user = idOrEmail.includes('@')
      ? await users.findByEmail(normalizeEmail(idOrEmail))
      : isUserId(idOrEmail)
        ? await users.findById(idOrEmail)
        : null;
    if (!user) throw new NotFound(`no user ${idOrEmail}`);
    return user;
  }

  const profile = (input: UserInput) => ({
    name: input.name ?? null,
    givenName: input.givenName ?? null,
    familyName: input.familyName ?? null,
    locale: input.locale === undefined ? null : checkLocale(input.locale),
    emailVerified: input.emailVerified ?? false,
  });

  return {
    async create(input: UserInput): Promise<UserView> {
      const email = input.email.normalize('NFC').trim();
      if (!EMAIL.test(email)) throw new InvalidInput(`${JSON.stringify(input.email)} is not an email address`);
      const taken = `a user with email ${email} exists already`;
      // Read first only to spare an argon2id hash for a taken address; the INSERT decides.
      if (await users.findByEmail(normalizeEmail(email))) throw new Conflict(taken);
      const passwordHash = await passwordHashFor(input);
      const user = describeUser(
        await createOrConflict(
          () =>
            users.create({
              email,
              emailNormalized: normalizeEmail(email),
              passwordHash: passwordHash ?? null,
              ...profile(input),
            }),
          taken,
        ),
      );
      await audit.record({ type: 'user.created', actor, subject: user.id });
      return user;
    },

    /** Creates or updates to match (for the seed file); a seeded password hash replaces the old one. */
    async apply(input: UserInput): Promise<'created' | 'updated' | 'unchanged'> {
      const existing = await users.findByEmail(normalizeEmail(input.email));
      if (!existing) {
        await this.create(input);
        return 'created';
      }
      // A seed file that does not say whether the address is confirmed leaves it as it is: a user
      // who confirmed it with a mailed link stays confirmed when the file is applied again.
      // Likewise the language: one the user's pages set stays unless the file names one.
      const wanted = {
        ...profile(input),
        emailVerified: input.emailVerified ?? existing.emailVerified,
        locale: input.locale === undefined ? existing.locale : checkLocale(input.locale),
      };
      const passwordChanged =
        input.passwordHash !== undefined
          ? input.passwordHash !== existing.passwordHash
          : input.password !== undefined &&
            !(existing.passwordHash && (await verifyPassword(existing.passwordHash, input.password)));
      const profileChanged = (Object.keys(wanted) as (keyof typeof wanted)[]).some((k) => existing[k] !== wanted[k]);
      if (!passwordChanged && !profileChanged) return 'unchanged';
      await users.update(existing.id, {
        ...wanted,
        ...(passwordChanged ? { passwordHash: (await passwordHashFor(input)) ?? null } : {}),
      });
      // As `tessera users set-password` records a new password, and apart from the profile.
      if (profileChanged) await audit.record({ type: 'user.updated', actor, subject: existing.id });
      if (passwordChanged) await audit.record({ type: 'user.password_set', actor, subject: existing.id });
      return 'updated';
    },

    list: async () => (await users.list()).map(describeUser),
    page: async (limit: number, after?: PagePosition, search?: string) =>
      (await users.page(limit, after, search)).map(describeUser),
    show: async (idOrEmail: string) => describeUser(await find(idOrEmail)),
    find,

    /** With `version` (If-Match), only if the user is still at that version (else PreconditionFailed). */
    async setDisabled(idOrEmail: string, disabled: boolean, options: { version?: Date } = {}): Promise<UserView> {
      const user = await find(idOrEmail);
      const updated = describeUser(
        options.version
          ? await users.updateIfVersion(user.id, options.version, { disabled })
          : await users.update(user.id, { disabled }),
      );
      await audit.record({ type: disabled ? 'user.disabled' : 'user.enabled', actor, subject: user.id });
      return updated;
    },

    /**
     * Changes what an admin may change (`users update`, PATCH /users/{user}) in one write; with
     * `version` (If-Match), only if the user is still at that version (else PreconditionFailed).
     */
    async update(idOrEmail: string, changes: UserChanges, options: { version?: Date } = {}): Promise<UserView> {
      const data = {
        ...(changes.disabled !== undefined ? { disabled: changes.disabled } : {}),
        ...(changes.locale !== undefined
          ? { locale: changes.locale === null ? null : checkLocale(changes.locale) }
          : {}),
      };
      if (Object.keys(data).length === 0) throw new InvalidInput('nothing to change: give disabled or locale');
      const user = await find(idOrEmail);
      const updated = describeUser(
        options.version
          ? await users.updateIfVersion(user.id, options.version, data)
          : await users.update(user.id, data),
      );
      if (changes.disabled !== undefined)
        await audit.record({ type: changes.disabled ? 'user.disabled' : 'user.enabled', actor, subject: user.id });
      if (changes.locale !== undefined)
        await audit.record({ type: 'user.updated', actor, subject: user.id, details: { locale: updated.locale } });
      return updated;
    },

    async setPassword(idOrEmail: string, password: string): Promise<UserView> {
      const user = await find(idOrEmail);
      await checkPassword(password, user.email);
      const updated = describeUser(await users.update(user.id, { passwordHash: await hashPassword(password) }));
      await audit.record({ type: 'user.password_set', actor, subject: user.id });
      return updated;
    },

    /** The admin knows the address is the user's: confirmed without a link. */
    async markEmailVerified(idOrEmail: string): Promise<UserView> {
      const user = await find(idOrEmail);
      const updated = describeUser(await users.update(user.id, { emailVerified: true }));
      await audit.record({ type: 'user.email_verified', actor, subject: user.id });
      return updated;
    },

    async delete(idOrEmail: string): Promise<UserView> {
      const user = await find(idOrEmail);
      await users.delete(user.id);
      await audit.record({ type: 'user.deleted', actor, subject: user.id });
      return describeUser(user);
    },

    /**
     * The user for this email and password, or undefined. Unknown email, wrong password and
     * disabled account take the same time and give the same answer to the caller.
     */
    async authenticate(email: string, password: string): Promise<UserRecord | undefined> {
      if (password.length > PASSWORD_MAX) return undefined;
      const user = await users.findByEmail(normalizeEmail(email));
      if (!user?.passwordHash) return verifyAgainstNothing(password).then(() => undefined);
      const ok = await verifyPassword(user.passwordHash, password);
      if (!ok || user.disabled) return undefined;
      // last_login_at is the caller's to record, with the rest of the sign-in (users.recordSignIn).
      return user;
    },
  };
}

export type UserService = ReturnType<typeof userService>;
