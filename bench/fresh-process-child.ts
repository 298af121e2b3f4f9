// The child side of fresh-process.ts: imports the module, calls the function, writes its result.

import { writeFile } from 'node:fs/promises';
import type { FreshProcessCall } from './fresh-process.js';

const call = JSON.parse(process.env['IMDS_WATCH_BENCH_CALL'] ?? 'null') as FreshProcessCall | null;
if (!call) throw new Error('IMDS_WATCH_BENCH_CALL is not set: run through inFreshProcess()');
const exported = ((await import(call.module)) as Record<string, unknown>)[call.fn];
if (typeof exported !== 'function') throw new Error(`${call.module} exports no function ${call.fn}`);
const result: unknown = await (exported as (...a: unknown[]) => Promise<unknown>)(...call.args);
await writeFile(call.out, JSON.stringify(result));
