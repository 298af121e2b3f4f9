// (normalize) --> Observation --> (group by bucket and user) --> model

/** The telemetry format an observation was read from. */
export type TelemetryFormat = 'ecs' | 'auditd' | 'auditd-enriched';

/**
 * One call to the metadata service by one user, whatever the telemetry format.
 * Plain data: the core groups these by (15-minute bucket, user).
 */
export interface Observation {
  /** When the call happened, ms since the epoch (the time inside the record, not the shipping time). */
  time: number;
  host: string;
  user: {
    /** Name where the data has one; else `uid:N` (uid 0 is always `root`). */
    name: string;
    id?: string;
  };
  process: {
    name?: string;
    executable?: string;
    args?: string[];
    pid?: number;
  };
  destination: {
    /** Canonical catalogue entry that matched, e.g. `169.254.169.254` or `metadata.google.internal`. */
    endpoint: string;
    /** Who serves it, e.g. `aws`, `gcp`, `aws-ecs`. */
    provider: string;
    address?: string;
    domain?: string;
    port?: number;
    /** A metadata URL found on the command line. */
    url?: string;
  };
  /** `network`: a connection was seen; `command-line`: a metadata URL in the process arguments. */
  via: 'network' | 'command-line';
  format: TelemetryFormat;
  /** Where the evidence lives in CloudWatch Logs. */
  source: {
    logGroup: string;
    logStream: string;
    eventId: string;
  };
}
