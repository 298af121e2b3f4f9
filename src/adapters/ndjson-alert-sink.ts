// runDetection --> (NDJSON alert sink) --> a file or stdout, one SNS message body per line

import type { Writable } from 'node:stream';
import type { AlertSink, OutgoingMessage } from '../ports.js';

export class NdjsonAlertSink implements AlertSink {
  private writes = 0;
  public readonly published: OutgoingMessage[] = [];

  public constructor(private readonly out: Writable, private readonly keep = false) {}

  public async publish(messages: readonly OutgoingMessage[]): Promise<Set<string>> {
    if (messages.length === 0) return new Set();
    const text = messages.map((m) => `${m.body}\n`).join('');
    this.writes++;
    await new Promise<void>((resolve, reject) => {
      this.out.write(text, (error) => (error ? reject(error) : resolve()));
    });
    if (this.keep) this.published.push(...messages);
    return new Set(messages.map((m) => m.id));
  }

  public requestCounts(): Record<string, number> {
    return { write: this.writes };
  }
}
