#!/usr/bin/env -S node --max-old-space-size=128 --max-semi-space-size=8 --min-semi-space-size=8 --no-allocation-site-pretenuring --no-parallel-scavenge
// Launcher. Runs the compiled JavaScript in dist/ (built by `npm run build`, which `npm ci` runs
// through `prepare`) when it is at least as new as every source file; otherwise registers the
// TypeScript loader and runs src/ (a checkout being edited). Compiled, the process carries no
// loader thread and no transpiler: about 40 MB less resident memory.
//
// The shebang bounds the old generation at 128 MB: a gateway's live heap is ~30 MB even with a
// million messages queued (the queue is the database), and without a bound V8 lets garbage
// from batch intake grow the heap past 150 MB before it collects. Young-generation semi-spaces
// of 8 MB (V8 grew them to 16) took 25 MB off the peak with a million queued (VmHWM 175 against
// 200 MB) at the same intake rate, and they stay at 8 MB: after a few idle seconds V8's memory
// reducer halved them, and once traffic came back scavenges ran twice as often for the rest of
// the run (160-190 against ~100 in 7 s of callbacks at 5-6k/s; the benchmark's p99 there met
// 5 ms in 3 of 8 windows against 7 of 8), at no cost to the peak (VmHWM 169.9 against 170.6 MB
// with a million queued). Allocation-site pretenuring is off: under a burst (batch intake, or
// callbacks at full rate) V8 marked object literals of shared request-path code as long-lived
// and from then on allocated them in the old generation for good, so at half rate the callback
// path promoted 4-15 MB/s and ran a full mark-compact every 0.7-4 s (3-11 ms pauses, more with
// the CPU shared); off, 0.3 MB/s and none in the measured run. Scavenges run on the event
// loop's thread alone: V8's parallel scavenge hands work to helper threads and waits for them,
// and with every core busy (two here, shared with the load generator) a helper that is not
// scheduled stretches the pause. At 3.8k callbacks/s the longest scavenge of an 8 s window had
// a median of 4.8 ms over 12 windows, against 1.7 ms over 8 with parallel scavenge off, for
// the same total collection time; batch intake and dispatch rates did not change. The line is
// 151 characters (Linux reads 255 since 5.1; older kernels cut it at 127). Running
// `node bin/switchboard.js` directly skips the shebang; give your own flags there.
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const compiled = `${root}dist/cli/index.js`;

/** True when dist/ exists and no file under src/ was changed after it was built. */
function compiledIsFresh() {
  let builtAt;
  try {
    builtAt = statSync(compiled).mtimeMs;
  } catch {
    return false;
  }
  for (const entry of readdirSync(`${root}src`, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
    if (statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs > builtAt) return false;
  }
  return true;
}

let cli;
if (process.env.SWITCHBOARD_FROM_SOURCE !== '1' && compiledIsFresh()) {
  cli = await import(compiled);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import('../src/cli/index.ts');
}
await cli.runCli(process.argv);
