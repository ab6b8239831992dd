/** Seconds with millisecond precision, as every envelope reports them. */
export function round3(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

/** ISO 8601 UTC with milliseconds (API.md); null stays null. */
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** An envelope's queue_time, run_time and total_time: the total is the sum of the two rounded parts. */
export function envelopeTimes(
  queueTimeSec: number,
  runTimeSec: number,
): { queue_time: number; run_time: number; total_time: number } {
  const queue_time = round3(queueTimeSec);
  const run_time = round3(runTimeSec);
  return { queue_time, run_time, total_time: round3(queue_time + run_time) };
}
