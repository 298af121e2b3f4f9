// source --> (prefilter) --> normalizers
//
// Most telemetry is not metadata traffic. This test runs on every raw message and must be far
// cheaper than a JSON parse: one case-insensitive regular expression over the catalogue's needles.

import type { EndpointCatalogue } from '../endpoints/endpoint-catalogue.js';

/** True when a raw message may reference the metadata service (false positives are re-checked). */
export type Prefilter = (message: string) => boolean;

export function createPrefilter(catalogue: Pick<EndpointCatalogue, 'needles'>): Prefilter {
  const escaped = catalogue.needles.map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
  const pattern = new RegExp(escaped.join('|'), 'i');
  return (message) => pattern.test(message);
}
