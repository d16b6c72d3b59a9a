// Which language a page is in: the authorization request's ui_locales (OIDC Core §3.1.2.1: a
// space-separated list, most preferred first), which oidc-provider keeps with the interaction
// and so holds for every page of the sign-in; then the browser's Accept-Language (RFC 9110
// §12.5.4); else English. A tag counts by its primary language: "de-AT" and "de" are German.
// Pages outside a sign-in reached from one (forgotten password, sign-up) and the links mailed
// from them carry the language on as a ui_locales query parameter (languageQuery).
import type { Context } from 'koa';
import { DEFAULT_LOCALE, LOCALES, type Locale, type Translator, translator } from './messages.ts';

// An Accept-Language header is short; a longer one is not a browser's, and is not parsed
// (bounded work per request).
const HEADER_MAX = 512;

function supported(tag: string): Locale | undefined {
  const primary = tag.trim().toLowerCase().split(/[-_]/)[0];
  return LOCALES.find((l) => l === primary);
}

/** The supported locale of a stored language tag (users.locale: "de", "de-AT"), if it is one. */
export const localeOfTag = (tag: string | null | undefined): Locale | undefined => (tag ? supported(tag) : undefined);

/**
 * The language a mail to a user is in: the language of the request that caused it, if it asked
 * for one (the user's own page), else the user's stored language (users.locale), else English.
 */
export const mailLocale = (requested: Locale | undefined, stored: string | null | undefined): Locale =>
  requested ?? localeOfTag(stored) ?? DEFAULT_LOCALE;

/** The first supported locale of a ui_locales value (space-separated, in order of preference). */
export function fromUiLocales(value: unknown): Locale | undefined {
  if (typeof value !== 'string' || value.length > HEADER_MAX) return undefined;
  for (const tag of value.split(' ')) {
    const locale = tag ? supported(tag) : undefined;
    if (locale) return locale;
  }
  return undefined;
}

/** The supported locale the browser prefers most (highest q, then the header's order). */
export function fromAcceptLanguage(header: string | undefined): Locale | undefined {
  if (!header || header.length > HEADER_MAX) return undefined;
  let best: { locale: Locale; q: number } | undefined;
  for (const part of header.split(',')) {
    const [tag = '', ...parameters] = part.split(';');
    const qParam = parameters.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    const locale = supported(tag);
    // q=0 means "not acceptable" (RFC 9110 §12.4.2).
    if (locale && Number.isFinite(q) && q > 0 && (!best || q > best.q)) best = { locale, q };
  }
  return best?.locale;
}

export function negotiate(uiLocales: unknown, acceptLanguage: string | undefined): Locale {
  return fromUiLocales(uiLocales) ?? fromAcceptLanguage(acceptLanguage) ?? DEFAULT_LOCALE;
}

type WithOidc = Context & { oidc?: { params?: Record<string, unknown> } };

/**
 * The locale of this request's page: the one an interaction route chose (useInteractionLocale),
 * or the authorization request's ui_locales where oidc-provider renders the page, or a
 * ui_locales in the page's own query (a link or form from a page in that language), or the
 * browser's.
 */
export function localeOf(ctx: Context): Locale {
  const chosen = ctx.state?.locale;
  if (LOCALES.includes(chosen)) return chosen as Locale;
  return (
    fromUiLocales((ctx as WithOidc).oidc?.params?.ui_locales) ??
    fromUiLocales(ctx.query?.ui_locales) ??
    fromAcceptLanguage(ctx.get('accept-language')) ??
    DEFAULT_LOCALE
  );
}

/**
 * The language this request asked for (ui_locales or Accept-Language), if it is a supported one;
 * undefined when the page is English only because nothing else was asked for. What a user's
 * stored language (users.locale) is set from, and what wins over it for a mail.
 */
export function requestedLocaleOf(ctx: Context): Locale | undefined {
  if (ctx.state?.locale !== undefined && 'requestedLocale' in ctx.state) return ctx.state.requestedLocale;
  return (
    fromUiLocales((ctx as WithOidc).oidc?.params?.ui_locales) ??
    fromUiLocales(ctx.query?.ui_locales) ??
    fromAcceptLanguage(ctx.get('accept-language'))
  );
}

/** "ui_locales=de" for a link or form that keeps a page's language; empty for English. */
export const languageQuery = (locale: Locale): string => (locale === DEFAULT_LOCALE ? '' : `ui_locales=${locale}`);

/** The pages of one sign-in speak the language its authorization request asked for. */
export function useInteractionLocale(ctx: Context, params: Record<string, unknown>): Locale {
  const requested = fromUiLocales(params.ui_locales) ?? fromAcceptLanguage(ctx.get('accept-language'));
  ctx.state.requestedLocale = requested;
  ctx.state.locale = requested ?? DEFAULT_LOCALE;
  return ctx.state.locale;
}

export const translatorOf = (ctx: Context): Translator => translator(localeOf(ctx));
