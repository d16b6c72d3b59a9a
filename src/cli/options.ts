// The one parser for the CLI's numeric and enumerated options. Each function returns a commander
// argument parser that checks the value as it is read, before a database is opened, and refuses it
// with InvalidInput: cli/main.ts prints that as one line ("tessera: --limit must be …") and exits 2.
// Nothing the user typed reaches Prisma or a service unchecked.
import { InvalidInput } from '../errors.ts';
import { parseDuration } from './output.ts';

// The value as the user typed it, quoted and on one line whatever it holds.
const shown = (value: string) => JSON.stringify(value);

/** A whole number from min to max (decimal digits only: no "1e3", "0x10", " 5" or "-1"). */
export function wholeNumber(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
    if (!(n >= min && n <= max))
      throw new InvalidInput(`${flag} must be a whole number from ${min} to ${max}, not ${shown(value)}`);
    return n;
  };
}

/** A duration ("90", "90s", "15m", "24h", "7d") of at most `maxSeconds`, in seconds. */
export function duration(flag: string, maxSeconds: number): (value: string) => number {
  return (value) => {
    let seconds: number;
    try {
      seconds = parseDuration(value);
    } catch {
      throw new InvalidInput(`${flag} must be a duration such as 0, 90s, 15m, 24h or 7d, not ${shown(value)}`);
    }
    if (seconds > maxSeconds)
      throw new InvalidInput(`${flag} must be at most ${maxSeconds / 86_400}d, not ${shown(value)}`);
    return seconds;
  };
}

/** A moment: an ISO 8601 date-time, or a duration back from now ("24h", "7d"). */
export function moment(flag: string, now: () => number = Date.now): (value: string) => Date {
  return (value) => {
    const when = /^\d+[smhd]?$/.test(value)
      ? new Date(now() - parseDuration(value) * 1000)
      : /^\d{4}-\d{2}-\d{2}/.test(value)
        ? new Date(value)
        : new Date(Number.NaN);
    if (Number.isNaN(when.getTime()))
      throw new InvalidInput(`${flag} must be an ISO date-time or a duration such as 24h or 7d, not ${shown(value)}`);
    return when;
  };
}

/** One of `choices`. */
export function oneOf<T extends string>(flag: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value))
      throw new InvalidInput(`${flag} must be one of ${choices.join(', ')}, not ${shown(value)}`);
    return value as T;
  };
}

/** A comma- or space-separated list, each item one of `choices`. */
export function listOf<T extends string>(flag: string, choices: readonly T[]): (value: string) => T[] {
  const one = oneOf(flag, choices);
  return (value) => {
    const items = value.split(/[\s,]+/).filter(Boolean);
    if (items.length === 0) throw new InvalidInput(`${flag} needs at least one of ${choices.join(', ')}`);
    return items.map((item) => {
      try {
        return one(item);
      } catch {
        throw new InvalidInput(`${flag}: ${shown(item)} is not one of ${choices.join(', ')}`);
      }
    });
  };
}
