// Medians for the benchmarks' rounds: of numbers, and the middle one of whole results.

/** The median of `xs` (the mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The item in the middle of `xs` ordered by `key` (the lower of the two middle ones for an even
 * count): a whole round, so that its figures stay one measurement's.
 */
export function medianItem<T>(xs: readonly T[], key: (x: T) => number): T {
  return [...xs].sort((a, b) => key(a) - key(b))[Math.floor((xs.length - 1) / 2)]!;
}
