import { PassThrough } from 'node:stream';
import type { CommandIo } from '../../src/cli/replay-command.js';

/** stdout/stderr that keep what was written; `tty` makes stderr look like a terminal. */
export function capturedIo(tty = false): CommandIo & { out(): string; err(): string } {
  const collect = (stream: PassThrough) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    return () => Buffer.concat(chunks).toString('utf8');
  };
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), { isTTY: tty });
  const out = collect(stdout);
  const err = collect(stderr);
  return { stdout, stderr, out, err };
}
