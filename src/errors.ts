// Errors every layer may raise. Adapters wrap SDK errors in these, keeping the original as `cause`.

/** Base of every error imds-watch raises on purpose. */
export class ImdsWatchError extends Error {
  public constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ImdsWatchError';
  }
}

/** A configuration key is missing or invalid; the message names it. */
export class ConfigError extends ImdsWatchError {
  public constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** The command line was used wrongly (unknown flag, missing value). */
export class UsageError extends ImdsWatchError {
  public constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** An input file is missing or unreadable as a whole (bad lines inside are skipped, not errors). */
export class InputError extends ImdsWatchError {
  public constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InputError';
  }
}

export class TelemetrySourceError extends ImdsWatchError {
  public constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TelemetrySourceError';
  }
}

/** What a telemetry read that ran out of time did not read, for the run report. */
export interface UnreadTelemetry {
  /** The read that was cut short: the candidate events, or the auditd records of candidate events. */
  read: 'candidates' | 'auditRecords';
  /** Log groups (names, or the configured prefixes when they were not resolved yet) not read completely. */
  logGroups: string[];
  /** The time range of those log groups that may be unread, [start, end) in ms since the epoch. */
  start: number;
  end: number;
}

/**
 * The source reached its time budget before it read its whole window. Fatal like any
 * TelemetrySourceError (the run must not advance its checkpoint), and carries what was not read.
 */
export class TelemetryBudgetExceeded extends TelemetrySourceError {
  public readonly unread: UnreadTelemetry;

  public constructor(message: string, unread: UnreadTelemetry, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TelemetryBudgetExceeded';
    this.unread = unread;
  }
}

export class StoreError extends ImdsWatchError {
  public constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreError';
  }
}

export class AlertSinkError extends ImdsWatchError {
  public constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AlertSinkError';
  }
}
