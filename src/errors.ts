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
