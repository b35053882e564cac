import { createHash } from 'node:crypto';

/**
 * Seed-derived values. Every random choice the simulator makes is a pure function of the
 * seed and a stable label (a SID, a phone number), so the same seed and the same requests
 * give the same SIDs and outcomes regardless of timing.
 */
export interface Determinism {
  /** A 34-character SID: the prefix and 32 hex digits derived from the seed and the label. */
  sid(prefix: string, label: string): string;
  /** A uniform number in [0, 1) derived from the seed and the label. */
  uniform(label: string): number;
  /** A 32-bit unsigned integer derived from the seed and the label. */
  int(label: string): number;
}

/** Creates the seed-derived value source. */
export function createDeterminism(seed: number | string): Determinism {
  const prefix = `${seed}\u0000`;
  const digest = (label: string) =>
    createHash('sha256')
      .update(prefix + label)
      .digest();
  return {
    sid(sidPrefix, label) {
      return sidPrefix + digest(label).toString('hex', 0, 16);
    },
    uniform(label) {
      return digest(label).readUInt32BE(0) / 0x1_0000_0000;
    },
    int(label) {
      return digest(label).readUInt32BE(0);
    },
  };
}

/** Draws from a log-normal distribution given its median and 95th percentile, from a uniform u. */
export function logNormalFromUniform(u: number, median: number, p95: number): number {
  const sigma = Math.log(Math.max(p95, median * 1.0001) / median) / 1.6448536269514722;
  return median * Math.exp(sigma * inverseNormal(Math.min(Math.max(u, 1e-9), 1 - 1e-9)));
}

// Acklam's rational approximation of the standard normal quantile (relative error < 1.15e-9).
function inverseNormal(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
    );
  }
  if (p > 1 - lo) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return (
      -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
    );
  }
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}
