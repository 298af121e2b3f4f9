// A test double of the Logs Insights source: rows computed from recorded events with the
// normalizers (rowsFromObservations, what the query is meant to compute), evidence read from the
// recorded events of the requested streams only.

import { ReplayTelemetrySource } from '../../src/adapters/replay-telemetry-source.js';
import type { ActivityReading, AggregatedTelemetrySource, EvidenceTarget, TelemetrySource, TimeWindow } from '../../src/ports.js';
import type { Detector } from '../../src/run/run-detection.js';
import { rowsFromObservations } from '../../src/telemetry/insights/activity-rows.js';
import type { LogEvent } from '../../src/telemetry/log-event.js';
import { readWindow } from '../../src/telemetry/read-window.js';

export class FakeInsightsSource implements AggregatedTelemetrySource {
  /** The streams of every evidence read, in order. */
  public readonly evidenceReads: EvidenceTarget[][] = [];
  private readonly all: ReplayTelemetrySource;

  public constructor(
    private readonly events: LogEvent[],
    private readonly detector: Detector,
  ) {
    this.all = new ReplayTelemetrySource(events);
  }

  public async activity(window: TimeWindow): Promise<ActivityReading> {
    const reading = await readWindow(this.all, window, this.detector.catalogue, this.detector.prefilter);
    return {
      rows: rowsFromObservations(reading.observations, this.detector.config.bucketMs),
      recordsScanned: reading.eventsRead,
      recordsMatched: reading.candidates,
      bytesScanned: 0,
      rowsSkipped: 0,
    };
  }

  public evidence(targets: readonly EvidenceTarget[]): TelemetrySource {
    this.evidenceReads.push([...targets]);
    const wanted = new Set(targets.map((t) => `${t.logGroup}\u0000${t.logStream}`));
    return new ReplayTelemetrySource(this.events.filter((e) => wanted.has(`${e.logGroup}\u0000${e.logStream}`)));
  }
}
