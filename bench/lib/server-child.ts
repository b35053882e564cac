import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** What a bench server prints as its first stdout line (JSON), plus anything server-specific. */
export interface ServerInfo {
  url: string;
  port: number;
  [key: string]: unknown;
}

/** A server running in a child process, so it does not share the load generator's event loop. */
export interface ServerChild<T extends ServerInfo = ServerInfo> {
  readonly info: T;
  readonly child: ChildProcess;
  /** Stops the child (SIGTERM, then SIGKILL after `graceMs`) and waits for it to exit. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnServerOptions {
  /** Extra arguments for node before the script, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the first stdout line. */
  startTimeoutMs?: number;
  label?: string;
}

/** The absolute path of a file under bench/, e.g. `servers/sim.ts`. */
export function benchPath(relative: string): string {
  return fileURLToPath(new URL(`../${relative}`, import.meta.url));
}

/** The repository root (where node_modules is), used as the children's working directory. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Spawns `node [--import tsx] <script>` (the loader only for a `.ts` script) and waits for its first stdout line, a JSON object with
 * at least `url` and `port`. The child's stderr goes to ours; it is expected to exit when its
 * stdin closes, so it cannot outlive this process.
 */
export async function spawnServer<T extends ServerInfo = ServerInfo>(
  script: string,
  options: SpawnServerOptions = {},
): Promise<ServerChild<T>> {
  const label = options.label ?? script;
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...loader, script], {
    cwd: repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const info = await new Promise<T>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      fail(new Error(`${label}: no startup line within ${options.startTimeoutMs ?? 30_000} ms`));
    }, options.startTimeoutMs ?? 30_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.kill('SIGKILL');
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      if (buf.length > 65_536) return fail(new Error(`${label}: startup line too long`));
      let nl = buf.indexOf('\n');
      // Lines before the announcement that are not JSON (e.g. node --trace-gc) go to stderr.
      while (nl >= 0 && !buf.startsWith('{')) {
        process.stderr.write(buf.slice(0, nl + 1));
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
      }
      if (nl < 0) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      try {
        const parsed = JSON.parse(buf.slice(0, nl)) as T;
        if (typeof parsed.port !== 'number' || typeof parsed.url !== 'string')
          throw new Error('startup line has no port/url');
        resolve(parsed);
      } catch (err) {
        fail(new Error(`${label}: bad startup line ${JSON.stringify(buf.slice(0, 200))}: ${String(err)}`));
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(new Error(`${label}: exited before listening (code ${code}, signal ${signal})`));
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', (err) => fail(err));
  });
  // Anything the server prints later on stdout goes to our stderr: our stdout is for results.
  child.stdout?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  let stopping: Promise<void> | null = null;
  return {
    info,
    child,
    stop(graceMs = 5_000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/**
 * For a server script: prints the startup line and arranges to run `close` and exit on
 * SIGTERM/SIGINT or when the parent goes away (stdin closes).
 */
export function announceServer(info: ServerInfo, close: () => Promise<void> | void): void {
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    const force = setTimeout(() => process.exit(0), 3_000);
    force.unref();
    Promise.resolve()
      .then(close)
      .catch((err: unknown) => process.stderr.write(`close failed: ${String(err)}\n`))
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  process.stdin.on('end', shutdown);
  process.stdin.on('error', shutdown);
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify(info)}\n`);
}
