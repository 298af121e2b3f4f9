// Generated documents (RELIABILITY.md, SECURITY.md, BENCHMARKS.md) are written by several scripts:
// each owns one section between markers and replaces only that, leaving the others as they are.

import { readFile, writeFile } from 'node:fs/promises';

/**
 * Replaces the text between `<!-- name:begin -->` and `<!-- name:end -->` in `file` (creating the
 * file with `title` as its first line, or appending the section, when either is missing).
 */
export async function replaceSection(file: string | URL, name: string, content: string, title = ''): Promise<void> {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${begin}\n${content.trim()}\n${end}`;
  const current = await readFile(file, 'utf8').catch(() => (title ? `${title}\n` : ''));
  const from = current.indexOf(begin);
  const to = current.indexOf(end);
  const next =
    from >= 0 && to > from ? `${current.slice(0, from)}${block}${current.slice(to + end.length)}` : `${current.trimEnd()}\n\n${block}\n`;
  await writeFile(file, next.startsWith('\n') ? next.trimStart() : next);
}
