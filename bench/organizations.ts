// The "10k organizations" scenarios (bench/run.ts, README "Organizations"): a deployment with
// 10,000 organizations and 100,000 memberships should serve token requests at the rate of one
// with none. This fills the benchmark's database once, in a few set-based statements: 10,000
// organizations, 10,000 users with ten memberships each, a role per organization; and makes the
// benchmark's own user a member of the first organization with a role granting the API's scope,
// so that the organization-token scenario refreshes a token of that organization.
import pg from 'pg';

export const BENCH_ORGANIZATIONS = 10_000;
// Ten organizations per synthetic user: 100,000 memberships.
const MEMBERSHIPS_PER_USER = 10;
export const BENCH_ORGANIZATION = 'bench-org-0';

export async function seedOrganizations(databaseUrl: string, audience: string, benchUserEmail: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM organizations');
    if ((rows[0]?.n ?? 0) >= BENCH_ORGANIZATIONS) return;
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO organizations (id, name, display_name, updated_at)
       SELECT gen_random_uuid(), 'bench-org-' || i, 'Bench organization ' || i, now()
       FROM generate_series(0, $1::int - 1) AS i`,
      [BENCH_ORGANIZATIONS],
    );
    await client.query(
      `INSERT INTO organization_roles (id, organization_id, name) SELECT gen_random_uuid(), id, 'reader' FROM organizations`,
    );
    await client.query(
      `INSERT INTO organization_role_permissions (role_id, api_id, scope)
       SELECT r.id, a.id, 'a:read' FROM organization_roles r, apis a WHERE a.audience = $1`,
      [audience],
    );
    await client.query(
      `INSERT INTO users (id, email, email_normalized, email_verified, updated_at)
       SELECT gen_random_uuid(), 'bench-member-' || i || '@example.test', 'bench-member-' || i || '@example.test', true, now()
       FROM generate_series(0, $1::int - 1) AS i`,
      [BENCH_ORGANIZATIONS],
    );
    // User i is a member of organizations i, i+1000, i+2000, ... (mod 10,000), with its role.
    await client.query(
      `WITH u AS (SELECT id, (substring(email from 'bench-member-(\\d+)@'))::int AS i FROM users WHERE email LIKE 'bench-member-%'),
            o AS (SELECT id, (substring(name from 'bench-org-(\\d+)'))::int AS i FROM organizations)
       INSERT INTO organization_members (organization_id, user_id)
       SELECT o.id, u.id FROM u JOIN generate_series(0, $1::int - 1) AS k ON true
       JOIN o ON o.i = (u.i + k * ($2::int / $1::int)) % $2::int`,
      [MEMBERSHIPS_PER_USER, BENCH_ORGANIZATIONS],
    );
    await client.query(
      `INSERT INTO organization_member_roles (organization_id, user_id, role_id)
       SELECT m.organization_id, m.user_id, r.id FROM organization_members m
       JOIN organization_roles r ON r.organization_id = m.organization_id`,
    );
    await client.query(
      `WITH o AS (SELECT id FROM organizations WHERE name = $1), u AS (SELECT id FROM users WHERE email_normalized = $2),
            m AS (INSERT INTO organization_members (organization_id, user_id) SELECT o.id, u.id FROM o, u RETURNING *)
       INSERT INTO organization_member_roles (organization_id, user_id, role_id)
       SELECT m.organization_id, m.user_id, r.id FROM m JOIN organization_roles r ON r.organization_id = m.organization_id`,
      [BENCH_ORGANIZATION, benchUserEmail.toLowerCase()],
    );
    await client.query('COMMIT');
    // Fresh statistics, as a deployment that grew over time would have.
    await client.query(
      'ANALYZE organizations, organization_roles, organization_role_permissions, organization_members, organization_member_roles, users',
    );
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    await client.end();
  }
}
