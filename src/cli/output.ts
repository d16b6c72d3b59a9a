import { InvalidInput } from '../errors.ts';

// How CLI commands print: JSON for scripts (--json), short text for people.
export interface Output {
  json: boolean;
  result(value: unknown, text: () => string): void;
}

export function createOutput(json: boolean, write: (s: string) => void = (s) => process.stdout.write(s)): Output {
  return {
    json,
    result(value, text) {
      write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
    },
  };
}

/**
 * Rows under a header row, in columns two spaces apart (the last column unpadded), for people;
 * scripts use --json.
 */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [headers, ...rows].map(line).join('\n');
}

/** Parses "90", "90s", "15m", "24h" or "7d" into seconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(value.trim());
  if (!match) throw new InvalidInput(`"${value}" is not a duration (e.g. 3600, 15m, 24h, 7d)`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
