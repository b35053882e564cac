/** A positive number from the environment, or the default; throws on nonsense. */
export function envNumber(name: string, dflt: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > max)
    throw new Error(`${name}=${raw}: expected a number in [0, ${max}]`);
  return n;
}

/** Progress and diagnostics: stderr only, stdout carries the one result line. */
export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Rounds to `digits` decimals; NaN becomes null so the JSON stays valid. */
export function round(n: number, digits = 0): number | null {
  if (!Number.isFinite(n)) return null;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
