// source --> (prefilter) --> normalizers
//
// Most telemetry is not metadata traffic. This test runs on every raw message and must be far
// cheaper than a JSON parse: one case-insensitive regular expression over the catalogue's needles,
// factored into a trie so that each position of the message tries a handful of characters, not
// every needle in turn.

import type { EndpointCatalogue } from '../endpoints/endpoint-catalogue.js';

/** True when a raw message may reference the metadata service (false positives are re-checked). */
export type Prefilter = (message: string) => boolean;

interface Trie {
  end: boolean;
  next: Map<string, Trie>;
}

const escape = (ch: string): string => ch.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

function toPattern(node: Trie): string {
  if (node.end) return ''; // a shorter needle already matches: longer ones add nothing
  const branches = [...node.next].map(([ch, child]) => escape(ch) + toPattern(child));
  return branches.length === 1 ? (branches[0] as string) : `(?:${branches.join('|')})`;
}

/** A regular expression source matching any of the (lower-case) needles, factored by common prefixes. */
export function needlesPattern(needles: readonly string[]): string {
  const root: Trie = { end: false, next: new Map() };
  for (const needle of needles) {
    let node = root;
    for (const ch of needle.toLowerCase()) {
      let child = node.next.get(ch);
      if (!child) node.next.set(ch, (child = { end: false, next: new Map() }));
      node = child;
    }
    node.end = true;
  }
  return toPattern(root);
}

export function createPrefilter(catalogue: Pick<EndpointCatalogue, 'needles'>): Prefilter {
  const pattern = new RegExp(needlesPattern(catalogue.needles), 'i');
  return (message) => pattern.test(message);
}
