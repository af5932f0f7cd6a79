// Benchmark helpers: run alternatives interleaved, several trials each, and
// report medians, so a noisy shared machine affects both sides alike.

export interface Trial {
  name: string;
  /** Runs the workload once and returns how many operations it did. */
  run: () => number;
}

export interface Result {
  name: string;
  /** Median nanoseconds per operation over the trials. */
  nsPerOp: number;
  opsPerSecond: number;
}

export let sink = 0;
export function consume(value: number): void {
  sink = (sink + value) | 0;
}

export function measure(trials: readonly Trial[], rounds = 7, warmup = 2): Result[] {
  const samples = trials.map(() => [] as number[]);
  for (let round = 0; round < rounds + warmup; round++) {
    trials.forEach((trial, i) => {
      const t0 = process.hrtime.bigint();
      const ops = trial.run();
      const ns = Number(process.hrtime.bigint() - t0);
      if (round >= warmup) samples[i].push(ns / ops);
    });
  }
  return trials.map((trial, i) => {
    const nsPerOp = median(samples[i]);
    return { name: trial.name, nsPerOp, opsPerSecond: 1e9 / nsPerOp };
  });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function fmt(n: number, digits = 2): string {
  return n.toFixed(digits);
}

export function verdict(ratio: number, goal: number): string {
  return ratio <= goal ? `meets goal <= ${goal}` : `MISSES goal <= ${goal}`;
}
