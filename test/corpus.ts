// Tests --> (corpus) --> ../shared/corpus, the real public telemetry samples beside the project
//
// The corpus is read in place (never copied into the project). A missing folder is an error that
// says so, never a silent skip.

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the corpus should be: `../shared/corpus` from the project root (this file is in test/). */
function corpusRoot(): string | undefined {
  const candidates = [
    fileURLToPath(new URL('../../shared/corpus/', import.meta.url)),
    resolve(process.cwd(), '../shared/corpus'),
  ];
  return candidates.find((dir) => existsSync(dir));
}

export const CORPUS_MISSING = '../shared/corpus not found: the corpus tests need the shared folder beside the project';

/** Whether the shared corpus folder is present. */
export function corpusAvailable(): boolean {
  return corpusRoot() !== undefined;
}

/** Absolute path of a corpus file or folder; throws with a clear message when the corpus is absent. */
export function corpusPath(...parts: string[]): string {
  const root = corpusRoot();
  if (root === undefined) throw new Error(CORPUS_MISSING);
  return join(root, ...parts);
}
