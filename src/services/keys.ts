// Signing keys as an admin sees and changes them: list (with their schedule), rotate, retire a
// compromised one. One implementation for `tessera keys` and the admin API (src/admin/).
import type { Config } from '../config/config.ts';
import type { ApiQueries } from '../db/queries/apis.ts';
import type { SigningKeyQueries } from '../db/queries/signing-keys.ts';
import { keyPolicy } from '../keys/key-policy.ts';
import { advanceKeys, keySchedule, retireCompromised, rotateKeys } from '../keys/lifecycle.ts';
import { noAudit, type Audit } from './audit.ts';

export interface KeyView {
  kid: string;
  alg: string;
  state: string;
  created_at: string;
  activates_at: string;
  retires_at: string;
  unpublish_at: string;
}

export function keyService(deps: {
  config: Config;
  signingKeys: SigningKeyQueries;
  apis: ApiQueries;
  audit?: Audit;
  actor?: string;
}) {
  const { config, signingKeys } = deps;
  const audit = deps.audit ?? noAudit;
  const actor = deps.actor ?? 'system';
  const policy = () => keyPolicy(config, deps.apis);

  return {
    async list(): Promise<KeyView[]> {
      const p = policy();
      const keys = await signingKeys.list();
      const schedule = keySchedule(keys, p, await p.retention());
      return keys.map((k) => {
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
    },

    /** Publishes a new key now; it signs after KEYS_PUBLICATION_DELAY. */
    async rotate(): Promise<{ kid: string; others: string[]; state: 'next'; signs_from: string }> {
      const p = policy();
      await advanceKeys(signingKeys, p);
      const [kid, ...others] = await rotateKeys(signingKeys, p);
      await audit.record({ type: 'key.published', actor, subject: kid, details: { others } });
      const signsFrom = new Date(Date.now() + config.keys.publicationDelay * 1000).toISOString();
      return { kid: kid!, others, state: 'next', signs_from: signsFrom };
    },

    /** EMERGENCY: the key leaves the JWKS now; every token it signed stops verifying. */
    async retire(kid: string): Promise<{ retired: string; signing_kid: string | null }> {
      const { newKid } = await retireCompromised(signingKeys, policy(), kid);
      await audit.record({
        type: 'key.retired_compromised',
        actor,
        subject: kid,
        details: { signing_kid: newKid ?? null },
      });
      return { retired: kid, signing_kid: newKid ?? null };
    },
  };
}

export type KeyService = ReturnType<typeof keyService>;
