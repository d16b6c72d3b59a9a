// The provider serving now, and its replacement when the signing keys change.
//
// oidc-provider fixes its keys when it is constructed (its `jwks` setting), so a key change builds
// a new Provider and swaps it in. Requests already in flight keep the provider they started on:
// they hold a reference to it, not to the slot.
import type Koa from 'koa';
import mount from 'koa-mount';
import { providerAsKoa } from './upstream.ts';
import type { Provider } from 'oidc-provider';
import type { KeySet } from '../keys/key-set.ts';
import { createProvider, type ProviderDeps } from './provider.ts';

export interface ProviderSlot {
  /** The provider serving now. */
  current(): Provider;
  /** The keys the current provider signs with. */
  keys(): KeySet;
  /** Builds a provider on these keys and serves it from the next request on. */
  setKeys(keys: KeySet): void;
  /** Hands the request to whichever provider is current when it arrives. */
  middleware: Koa.Middleware;
}

interface Built {
  keys: KeySet;
  provider: Provider;
  mounted: Koa.Middleware;
}

export function providerSlot(deps: Omit<ProviderDeps, 'keys'>, keys: KeySet): ProviderSlot {
  function build(keys: KeySet): Built {
    const provider = createProvider({ ...deps, keys });
    return { keys, provider, mounted: mount(providerAsKoa(provider)) };
  }
  let current = build(keys);
  return {
    current: () => current.provider,
    keys: () => current.keys,
    setKeys(keys) {
      current = build(keys);
    },
    middleware: function provider(ctx, next) {
      return current.mounted(ctx, next);
    },
  };
}
