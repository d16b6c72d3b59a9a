// The one error page a person sees, from Tessera's routes (middleware/error-handler.ts) and from
// the provider's (renderError): what happened and what to do (error-explanations.ts), a link
// back to the app where the client is known, and the request id to quote. The technical
// description is logged under that request id instead of being shown.
import type { Context } from 'koa';
import type { Logger } from '../logging/logger.ts';
import { translatorOf } from '../i18n/locale.ts';
import { explain } from './error-explanations.ts';
import { sendPage } from './page.ts';
import { type Brand, renderView } from './render.ts';

export interface ShownError {
  status: number;
  error: string;
  description?: string | undefined;
}

export interface KnownClient {
  clientName?: string | undefined;
  redirectUris?: readonly string[] | undefined;
}

// Where "back to the app" goes: the origin of the client's first registered web redirect URI.
// Never an address from the request: an unregistered redirect_uri is exactly what the page may
// be refusing.
function backLink(client: KnownClient | undefined): { href: string; name: string } | undefined {
  for (const uri of client?.redirectUris ?? []) {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      continue;
    }
    if (url.protocol === 'https:' || url.protocol === 'http:') {
      return { href: `${url.origin}/`, name: client?.clientName ?? url.host };
    }
  }
  return undefined;
}

export function sendErrorPage(ctx: Context, brand: Brand, shown: ShownError, client?: KnownClient): void {
  const requestId = typeof ctx.state.requestId === 'string' ? ctx.state.requestId : undefined;
  (ctx.state.log as Logger | undefined)?.info(
    { status: shown.status, error: shown.error, error_description: shown.description },
    'error page shown',
  );
  const explanation = explain(shown.status, shown.error, shown.description);
  const { t, locale } = translatorOf(ctx);
  sendPage(
    ctx,
    renderView(
      'error',
      brand,
      {
        heading: t(explanation.heading),
        happened: t(explanation.happened),
        todo: t(explanation.todo),
        error: shown.error,
        requestId,
        back: backLink(client),
      },
      locale,
    ),
    shown.status,
  );
}
