// What a new password must be (NIST SP 800-63B §3.1.1.2): long enough (PASSWORD_MIN_LENGTH,
// default 12), at most PASSWORD_MAX, and not guessable — checked with zxcvbn-ts against its
// common-password, name and English word lists, keyboard patterns, dates and repeats, and the
// user's own email and name. No composition rules (SP 800-63B advises against them).
import type { ZxcvbnFactory } from '@zxcvbn-ts/core';
import { InvalidInput } from '../errors.ts';
import { PASSWORD_MAX } from './passwords.ts';

// zxcvbn's score 3: "safely unguessable: moderate protection from offline slow-hash scenario"
// (< 10^10 guesses); 2 is "somewhat guessable" and would admit "Password2024!"-like choices.
const MIN_SCORE = 3;
// zxcvbn's cost grows with length; its authors advise checking a prefix. 100 characters of a
// password are guessed no more easily than the whole.
const CHECKED_PREFIX = 100;

let estimator: Promise<ZxcvbnFactory> | undefined;
// Imported and built on first use: the dictionaries take 1–3 s of CPU to load, which every CLI
// command and every server start paid when they were imported at the top.
const zxcvbn = () =>
  (estimator ??= (async () => {
    const [{ ZxcvbnFactory }, common, en] = await Promise.all([
      import('@zxcvbn-ts/core'),
      import('@zxcvbn-ts/language-common'),
      import('@zxcvbn-ts/language-en'),
    ]);
    return new ZxcvbnFactory({
      dictionary: { ...common.dictionary, ...en.dictionary },
      graphs: common.adjacencyGraphs,
      translations: en.translations,
    });
  })());

export class WeakPassword extends InvalidInput {}

/**
 * Throws WeakPassword with a message for the person choosing the password; `context` is what
 * the password must not resemble (the email address, the name).
 */
export async function checkNewPassword(password: string, minLength: number, context: string[] = []): Promise<void> {
  if (password.length < minLength) throw new WeakPassword(`Use at least ${minLength} characters.`);
  if (password.length > PASSWORD_MAX) throw new WeakPassword(`Use at most ${PASSWORD_MAX} characters.`);
  const inputs = context.flatMap((c) => [c, ...c.split(/[@.\s_+-]+/)]).filter((c) => c.length >= 3);
  const result = await (await zxcvbn()).check(password.slice(0, CHECKED_PREFIX), inputs);
  if (result.score >= MIN_SCORE) return;
  const hint = [result.feedback.warning, ...result.feedback.suggestions].filter(Boolean).join(' ');
  throw new WeakPassword(`This password is too easy to guess.${hint ? ` ${hint}` : ''}`);
}
