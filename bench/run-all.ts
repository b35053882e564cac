// Runs every bench/*.ts (except this file) one after another, each in its own process,
// and passes their stdout (one JSON line each) through. Progress goes to stderr.
//   BENCH_TIMEOUT_SECONDS (default 600) bounds each benchmark.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { envNumber, log } from './lib/env.ts';
import { benchPath, repoRoot } from './lib/server-child.ts';

const timeoutMs = envNumber('BENCH_TIMEOUT_SECONDS', 600, 86_400) * 1000;
const self = basename(new URL(import.meta.url).pathname);
const files = readdirSync(benchPath(''), { withFileTypes: true })
  .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') && e.name !== self)
  .map((e) => e.name)
  .sort();

let failed = 0;
for (const file of files) {
  log(`running ${file}`);
  const child = spawn(process.execPath, ['--import', 'tsx', benchPath(file)], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout.pipe(process.stdout, { end: false });
  const timer = setTimeout(() => {
    log(`${file}: timed out after ${timeoutMs / 1000}s, killing it`);
    child.kill('SIGKILL');
  }, timeoutMs);
  const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
  clearTimeout(timer);
  if (code !== 0) {
    failed++;
    log(`${file}: failed (code ${code}, signal ${signal})`);
  }
}
if (failed > 0) process.exitCode = 1;
