// Summarizes a V8 CPU profile (node --cpu-prof): the functions with the most self time and the
// most inclusive time, as file:line. Run it directly:
//   [PROFILE_WINDOW_US=from-to] node --import tsx bench/lib/profile-top.ts <file.cpuprofile | dir> [top=25] [filter]
// With a directory, the newest .cpuprofile in it is read. `filter` keeps only frames whose URL
// contains it in the inclusive table (e.g. `/src/`).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, relative } from 'node:path';
import { repoRoot } from './server-child.ts';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** One row of a summary. */
export interface ProfileRow {
  frame: string;
  ms: number;
  percent: number;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Decoded source-map segments per generated line: [generatedColumn, sourceLine] (0-based), sorted. */
type LineMap = [number, number][][];

function decodeMappings(mappings: string): LineMap {
  const lines: LineMap = [];
  let srcLine = 0;
  for (const line of mappings.split(';')) {
    const segs: [number, number][] = [];
    let genCol = 0;
    for (const seg of line.split(',')) {
      if (!seg) continue;
      const values: number[] = [];
      let shift = 0;
      let value = 0;
      for (const ch of seg) {
        const digit = BASE64.indexOf(ch);
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          values.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      genCol += values[0] ?? 0;
      if (values.length >= 4) {
        srcLine += values[2]!;
        segs.push([genCol, srcLine]);
      }
    }
    lines.push(segs);
  }
  return lines;
}

let tsxMaps: Map<string, LineMap> | null = null;

/**
 * tsx compiles each .ts file to one whitespace-minified line, so profile positions are
 * useless as they are. Its transform cache ($TMPDIR/tsx-<uid>/) keeps each output's source
 * map: the newest entry per source file is used to map a function back to its .ts line.
 */
function tsxSourceMaps(): Map<string, LineMap> {
  if (tsxMaps) return tsxMaps;
  tsxMaps = new Map();
  const dir = join(tmpdir(), `tsx-${userInfo().uid}`);
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return tsxMaps;
  }
  const newest = new Map<string, { mtime: number; mappings: string }>();
  for (const name of entries) {
    const file = join(dir, name);
    try {
      const mtime = statSync(file).mtimeMs;
      const { map } = JSON.parse(readFileSync(file, 'utf8')) as {
        map?: string | { sources: string[]; mappings: string };
      };
      const parsed =
        typeof map === 'string' ? (JSON.parse(map) as { sources: string[]; mappings: string }) : map;
      const source = parsed?.sources?.[0];
      if (!source || !parsed) continue;
      const prev = newest.get(source);
      if (!prev || prev.mtime < mtime) newest.set(source, { mtime, mappings: parsed.mappings });
    } catch {
      // Not a transform cache entry.
    }
  }
  for (const [source, { mappings }] of newest) tsxMaps.set(source, decodeMappings(mappings));
  return tsxMaps;
}

/** The original (1-based) line of a generated position, when a tsx source map knows it. */
function originalLine(path: string, line: number, column: number): number | null {
  const segs = tsxSourceMaps().get(path)?.[line];
  if (!segs || segs.length === 0) return null;
  let best: [number, number] | null = null;
  for (const s of segs) {
    if (s[0] > column) break;
    best = s;
  }
  return (best ?? segs[0]!)[1] + 1;
}

function frameName(cf: CallFrame): string {
  let where = cf.url;
  if (cf.url.startsWith('file://')) {
    const path = new URL(cf.url).pathname;
    const line = path.endsWith('.ts') ? originalLine(path, cf.lineNumber, cf.columnNumber) : null;
    where = `${relative(repoRoot, path)}:${line ?? cf.lineNumber + 1}`;
  } else if (cf.url) {
    where = `${cf.url}:${cf.lineNumber + 1}`;
  }
  return `${cf.functionName || '(anonymous)'} ${where}`.trim();
}

/** Self and inclusive time per frame (function + file:line). */
export function summarizeProfile(
  profile: CpuProfile,
  top = 25,
  filter?: string,
  window?: { fromUs: number; toUs: number },
): { totalMs: number; self: ProfileRow[]; inclusive: ProfileRow[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    totalUs += us;
    const node = byId.get(id)!;
    const name = frameName(node.callFrame);
    self.set(name, (self.get(name) ?? 0) + us);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur)!.callFrame;
      if (filter && !cf.url.includes(filter)) continue;
      const n = frameName(cf);
      if (seen.has(n)) continue;
      seen.add(n);
      inclusive.set(n, (inclusive.get(n) ?? 0) + us);
    }
  }
  const rows = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([frame, us]) => ({
        frame,
        ms: Math.round(us / 1000),
        percent: Math.round((1000 * us) / Math.max(1, totalUs)) / 10,
      }));
  return { totalMs: Math.round(totalUs / 1000), self: rows(self), inclusive: rows(inclusive) };
}

/** The newest .cpuprofile in a directory (or the file itself). */
export function newestProfile(path: string): string {
  if (!statSync(path).isDirectory()) return path;
  const files = readdirSync(path)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(path, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (files.length === 0) throw new Error(`no .cpuprofile in ${path}`);
  return files[0]!;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const target = process.argv[2];
  if (!target) {
    process.stderr.write('usage: profile-top.ts <file.cpuprofile | dir> [top] [filter]\n');
    process.exit(2);
  }
  process.stdout.on('error', () => process.exit(0)); // e.g. piped into head
  const file = newestProfile(target);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  // PROFILE_WINDOW_US=from-to keeps only samples in that stretch of the host's monotonic clock
  // (µs, as process.hrtime; benchmarks log the measured windows of their phases that way).
  const [fromUs, toUs] = (process.env.PROFILE_WINDOW_US ?? '').split('-').map(Number);
  const window = fromUs && toUs ? { fromUs, toUs } : undefined;
  const { totalMs, self, inclusive } = summarizeProfile(
    profile,
    Number(process.argv[3] ?? 25),
    process.argv[4] || undefined,
    window,
  );
  const print = (title: string, rows: ProfileRow[]) => {
    process.stdout.write(`\n${title}\n`);
    for (const r of rows)
      process.stdout.write(`${String(r.ms).padStart(8)} ms ${String(r.percent).padStart(5)}%  ${r.frame}\n`);
  };
  process.stdout.write(`${file}: ${totalMs} ms sampled\n`);
  print('self time', self);
  print(`inclusive time${process.argv[4] ? ` (frames matching ${process.argv[4]})` : ''}`, inclusive);
}
