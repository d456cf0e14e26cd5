// The few statistics the benchmarks report: medians of several runs (the machine is shared and
// noisy, so a median says more than a mean) and ratios of medians measured in the same run.

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function ratio(a: number, b: number): number {
  return b === 0 ? Number.NaN : a / b;
}
