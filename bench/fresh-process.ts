// bench --> (a fresh Node process) --> one measurement's JSON result
//
// Peak memory is a process's high-water mark: a measurement that follows other benchmarks in the
// same process reports theirs too. This runs one exported function of a bench module in a freshly
// spawned process (not forked from this big one) and returns its result.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the child is asked to call (passed in IMDS_WATCH_BENCH_CALL). */
export interface FreshProcessCall {
  module: string;
  fn: string;
  args: unknown[];
  out: string;
}

/** `nodeFlags` go before the script, e.g. `--max-old-space-size=12288` for a measurement that holds a lot. */
export async function inFreshProcess<T>(module: URL, fn: string, args: readonly unknown[], nodeFlags: readonly string[] = []): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imds-watch-bench-call-'));
  const out = path.join(dir, 'result.json');
  try {
    const call: FreshProcessCall = { module: module.href, fn, args: [...args], out };
    const child = spawn(process.execPath, [...nodeFlags, '--import', import.meta.resolve('tsx'), fileURLToPath(new URL('./fresh-process-child.ts', import.meta.url))], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, IMDS_WATCH_BENCH_CALL: JSON.stringify(call) },
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`${fn} (${module.pathname}) failed in its own process: exit ${String(code)}`);
    return JSON.parse(await readFile(out, 'utf8')) as T;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
