// users: the accounts people sign in with. findAccount's read (account) is on the pool: the
// provider asks it on every token, userinfo and signed-in authorization request; the rest,
// admin work and the sign-in's password check, is on Prisma (db/client.ts).
import type pg from 'pg';
import type { PrismaClient } from '../client.ts';
import type { Prisma } from '../generated/client.ts';
import { PreconditionFailed } from '../../errors.ts';
import { afterPosition, type PagePosition } from './paging.ts';
import { type HeldRole, heldRolesFromJson } from '../../services/rbac.ts';
import type { Locale } from '../../i18n/messages.ts';
import { factorsFromRow, factorsOfColumns, type FactorsOf, type FactorsRow } from './second-factors.ts';

// users.id is a Postgres uuid: any other string makes the query fail rather than match nothing,
// so callers check the shape first (canonical 8-4-4-4-12 hex, as Tessera generates them).
const USER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether this string can be a user's id; if not, there is no such user. */
export const isUserId = (id: string) => USER_ID.test(id);

export type UserRecord = Prisma.UserGetPayload<object>;
export type UserWrite = Omit<Prisma.UserCreateInput, 'id' | 'consents' | 'createdAt' | 'updatedAt'>;

/**
 * users.locale after a page in `param`'s language (a supported locale, or NULL: none asked for)
 * was shown to the user, for the SET of an UPDATE the statement makes anyway: the stored tag
 * stays when it is of that language ("de-AT" for "de") or none was asked for, so that the
 * language costs no statement of its own and the row changes only when the language does.
 */
export const keptOrNewLocale = (param: string) =>
  `CASE WHEN ${param}::text IS NULL OR split_part(replace(lower(coalesce(locale, '')), '_', '-'), '-', 1) = ${param}::text
    THEN locale ELSE ${param}::text END`;

/** What the provider needs of a user: its claims and whether it may sign in. */
export interface AccountRecord {
  id: string;
  email: string;
  emailVerified: boolean;
  name: string | null;
  givenName: string | null;
  familyName: string | null;
  nickname: string | null;
  preferredUsername: string | null;
  picture: string | null;
  website: string | null;
  locale: string | null;
  zoneinfo: string | null;
  disabled: boolean;
  updatedAt: Date;
  /** The user's roles with their permissions (RBAC, services/rbac.ts). */
  roles: HeldRole[];
}

// The user's roles, each with its permissions as [audience, scope] pairs, read inside the
// account's own statement so that RBAC costs no round trip of its own (a refresh stays at its
// two statements, test/integration/round-trips.test.ts). A user without roles costs one probe of
// user_roles' primary key.
const ROLES_JSON = `(SELECT json_agg(json_build_object('name', r.name, 'permissions',
    (SELECT json_agg(json_build_array(a.audience, rp.scope)) FROM role_permissions rp
      JOIN apis a ON a.id = rp.api_id WHERE rp.role_id = r.id)))
  FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id)`;

/**
 * The account's columns as one JSON value, for statements that read it beside something else
 * (oidc-payloads.findWithGrantAndAccount); `u` is the users row, NULL when there is none.
 */
export const ACCOUNT_JSON = `CASE WHEN u.id IS NOT NULL THEN json_build_object('id', u.id, 'email', u.email,
  'emailVerified', u.email_verified, 'name', u.name, 'givenName', u.given_name, 'familyName', u.family_name,
  'nickname', u.nickname, 'preferredUsername', u.preferred_username, 'picture', u.picture, 'website', u.website,
  'locale', u.locale, 'zoneinfo', u.zoneinfo, 'disabled', u.disabled, 'updatedAt', u.updated_at,
  'roles', ${ROLES_JSON}) END`;

/**
 * The users row of an account id held in a payload (`expr`, text): NULL for an id that is no
 * uuid, so that the cast cannot fail the statement (a sub that is no uuid is no account).
 */
export const accountIdAsUuid = (expr: string) =>
  `CASE WHEN ${expr} ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN (${expr})::uuid END`;

/** An account as ACCOUNT_JSON wrote it. */
export function accountFromJson(json: Record<string, unknown> | null): AccountRecord | null {
  return json
    ? ({
        ...json,
        updatedAt: new Date(json.updatedAt as string),
        roles: heldRolesFromJson(json.roles),
      } as AccountRecord)
    : null;
}

export function userQueries(prisma: PrismaClient, pool?: pg.Pool, prepared = false) {
  return {
    /** findAccount's read: one indexed statement on the pool. */
    async findAccount(id: string): Promise<AccountRecord | undefined> {
      if (!pool) throw new Error('userQueries: findAccount needs the pool');
      const text = `SELECT ${ACCOUNT_JSON} AS account FROM users u WHERE u.id = $1`;
      const { rows } = await pool.query<{ account: Record<string, unknown> }>({
        ...(prepared ? { name: 'tessera_account' } : {}),
        text,
        values: [id],
      });
      return accountFromJson(rows[0]?.account ?? null) ?? undefined;
    },
    findById: (id: string) => prisma.user.findUnique({ where: { id } }),
    findByEmail: (emailNormalized: string) => prisma.user.findUnique({ where: { emailNormalized } }),
    list: () => prisma.user.findMany({ orderBy: { createdAt: 'asc' } }),
    /** Up to `limit` users after `after` in (created_at, id) order: the admin API's pages. */
    page: (limit: number, after?: PagePosition, search?: string) =>
      prisma.user.findMany({
        // A search is a case-insensitive part of the address or the name (see clients.page).
        where: {
          AND: [
            after ? afterPosition(after) : {},
            search
              ? {
                  OR: [
                    { emailNormalized: { contains: search.toLowerCase() } },
                    { email: { contains: search, mode: 'insensitive' as const } },
                    { name: { contains: search, mode: 'insensitive' as const } },
                  ],
                }
              : {},
          ],
        },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        take: limit,
      }),
    create: (data: UserWrite) => prisma.user.create({ data }),
    update: (id: string, data: Partial<UserWrite>) => prisma.user.update({ where: { id }, data }),
    /**
     * The update only if the user's updated_at is still `version` (If-Match): one conditional
     * UPDATE decides, so of two concurrent updates from one version exactly one succeeds.
     */
    async updateIfVersion(id: string, version: Date, data: Partial<UserWrite>) {
      const { count } = await prisma.user.updateMany({ where: { id, updatedAt: version }, data });
      if (count === 0) throw new PreconditionFailed();
      return prisma.user.findUniqueOrThrow({ where: { id } });
    },
    async delete(id: string): Promise<boolean> {
      return (await prisma.user.deleteMany({ where: { id } })).count === 1;
    },
    /**
     * What a successful sign-in leaves behind, in one statement and one commit: last_login_at,
     * the failures counted against the account from this address forgotten (`counterKey`, a
     * rate_limits key), and the audit row. (Three statements and three commits before.) It answers
     * which second factors the user has, the sign-in's next question (mfa/features.ts).
     */
    async recordSignIn(id: string, ip: string, counterKey: string, locale?: Locale): Promise<FactorsOf> {
      if (!pool) throw new Error('userQueries: recordSignIn needs the pool');
      const { rows } = await pool.query<FactorsRow>({
        ...(prepared ? { name: 'tessera_sign_in' } : {}),
        text: `WITH seen AS (UPDATE users SET last_login_at = $2, updated_at = $2, locale = ${keptOrNewLocale('$5')} WHERE id = $1::uuid),
          forgotten AS (DELETE FROM rate_limits WHERE key = $3)
          INSERT INTO audit_events (type, actor, subject, ip, created_at) VALUES ('login.succeeded', $1::text, $1::text, $4, $2)
          RETURNING ${factorsOfColumns('$1')}`,
        values: [id, new Date(), counterKey, ip, locale ?? null],
      });
      return factorsFromRow(rows[0]!);
    },
    async recordLogin(id: string) {
      await prisma.user.update({ where: { id }, data: { lastLoginAt: new Date() } });
    },
  };
}

export type UserQueries = ReturnType<typeof userQueries>;
