// seed + size --> (the simulator's scale fleet) --> a fleet spec and its ground truth
//
// Tuning seeds and report seeds are disjoint: anything tuned (the model's formula, a threshold)
// is tuned on TUNING_SEEDS only, and the quality report uses REPORT_SEEDS only.

import type { FleetSpec } from '../../src/simulator/fleet-simulator.js';
import { groundTruth, scaleFleetSpec } from '../../src/simulator/scale-fleet.js';
import type { QualityLabel } from './alert-matching.js';

export const TUNING_SEEDS: readonly number[] = [1, 2, 3];
export const REPORT_SEEDS: readonly number[] = [101, 102, 103, 104, 105];

/** Share of non-metadata events in quality fleets: low, since it only exercises the prefilter. */
export const QUALITY_NON_METADATA_SHARE = 0.5;

export interface FleetSize {
  hosts: number;
  days: number;
  /** Attacks drawn per fleet (the simulator cycles through its scenarios). */
  attacks: number;
}

export interface QualityFleet {
  seed: number;
  spec: FleetSpec;
  labels: QualityLabel[];
  /** Which generator made it, for the report. */
  source: string;
}

/** The fleet of one seed (the simulator's benign rarities, `size.attacks` attacks drawn), with its ground truth. */
export function qualityFleet(seed: number, size: FleetSize): QualityFleet {
  const spec = scaleFleetSpec({ seed, hosts: size.hosts, days: size.days, attacks: size.attacks, nonMetadataShare: QUALITY_NON_METADATA_SHARE });
  return { seed, spec, labels: groundTruth(spec), source: '`scaleFleetSpec` with its benign rarities' };
}
