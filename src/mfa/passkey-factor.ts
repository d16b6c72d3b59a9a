// A passkey as the second factor after a password (factors.ts): the page's script signs a
// challenge bound to this interaction with one of the user's own passkeys (allowCredentials), and
// the form posts the assertion to /interaction/:uid/factor/passkey. amr "hwk" or "swk" (RFC 8176
// §2); the step adds "mfa". An assertion from another user's passkey is refused like any wrong one.
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { parseCredential, PasskeyRejected, type PasskeyService } from '../services/passkeys.ts';
import type { Message } from '../i18n/messages.ts';
import type { SecondFactorKind } from './factors.ts';

const PASSKEY_FAILED: Message = ({ t }) => t('mfa.passkey.failed');

export function passkeyFactor(passkeys: PasskeyService, has: (userId: string) => Promise<boolean>): SecondFactorKind {
  return {
    name: 'passkey',
    has,
    async prepare(userId, context) {
      // The options go in the page (the script needs no further request); a challenge per render.
      return { options: JSON.stringify(await passkeys.secondFactorOptions(userId, context.uid)) };
    },
    async verify(userId, form, context) {
      const response = parseCredential<AuthenticationResponseJSON>(form.get('credential'));
      if (!response) return { ok: false, error: PASSKEY_FAILED };
      try {
        const used = await passkeys.verifySecondFactor(userId, context.uid, response);
        return { ok: true, amr: used.amr };
      } catch (err) {
        if (err instanceof PasskeyRejected) return { ok: false, error: PASSKEY_FAILED };
        throw err;
      }
    },
  };
}
