// RFC 8693 token-exchange policies: which APIs a client may exchange users' tokens towards. Kept
// apart from the client's settings because they are granted one API at a time, and audited so.
import type { ApiQueries } from '../db/queries/apis.ts';
import type { ClientRecord } from '../db/queries/clients.ts';
import type { TokenExchangePolicyQueries } from '../db/queries/token-exchange-policies.ts';
import { InvalidInput } from '../errors.ts';
import type { Audit } from './audit.ts';
import { clientView, type ClientView } from './client-view.ts';

export function exchangePolicies(deps: {
  getClient: (id: string) => Promise<ClientRecord>;
  apis: ApiQueries;
  exchange: TokenExchangePolicyQueries | undefined;
  audit: Audit;
  actor: string;
}) {
  const { getClient, apis, audit, actor } = deps;

  /** The client and API of a token-exchange policy; only a confidential client may exchange. */
  async function parties(id: string, audience: string) {
    const client = await getClient(id);
    if (client.tokenEndpointAuthMethod === 'none') {
      throw new InvalidInput(
        'a public client cannot exchange tokens: it has no credentials to authenticate the exchange with',
      );
    }
    const api = await apis.findByAudience(audience);
    if (!api) throw new InvalidInput(`no API has audience ${audience}; create it first with \`tessera apis create\``);
    if (!deps.exchange) throw new Error('token-exchange policies are not available here');
    return { client, api, exchange: deps.exchange };
  }

  /** Grants or takes away one exchange target; audited only when something changed. */
  async function setExchange(id: string, audience: string, allowed: boolean): Promise<ClientView> {
    const { api, exchange } = await parties(id, audience);
    if (allowed ? await exchange.allow(id, api.id) : await exchange.disallow(id, api.id)) {
      await audit.record({
        type: allowed ? 'client.exchange_allowed' : 'client.exchange_disallowed',
        actor,
        subject: id,
        details: { audience },
      });
    }
    return clientView(await getClient(id));
  }

  return {
    /** Lets the client exchange subject tokens for access tokens for this API. */
    allowExchange: (id: string, audience: string) => setExchange(id, audience, true),
    disallowExchange: (id: string, audience: string) => setExchange(id, audience, false),

    /** For the seed file: exactly these exchange targets, no more. */
    async setExchangeTargets(id: string, audiences: string[]): Promise<boolean> {
      const current = (await getClient(id)).exchanges.map((e) => e.api.audience);
      let changed = false;
      for (const audience of audiences.filter((a) => !current.includes(a))) {
        await setExchange(id, audience, true);
        changed = true;
      }
      for (const audience of current.filter((a) => !audiences.includes(a))) {
        await setExchange(id, audience, false);
        changed = true;
      }
      return changed;
    },
  };
}
