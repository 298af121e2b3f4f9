import type { AlertSink, OutgoingMessage } from '../../src/ports.js';

/** An AlertSink that keeps what it was given and can refuse chosen messages, as SNS does in a partial batch failure. */
export class RecordingAlertSink implements AlertSink {
  public readonly messages: OutgoingMessage[] = [];
  public refuse: (m: OutgoingMessage) => boolean = () => false;
  private calls = 0;

  public async publish(messages: readonly OutgoingMessage[]): Promise<Set<string>> {
    this.calls++;
    const accepted = new Set<string>();
    for (const m of messages) {
      if (this.refuse(m)) continue;
      this.messages.push(m);
      accepted.add(m.id);
    }
    return accepted;
  }

  public requestCounts(): Record<string, number> {
    return { publish: this.calls };
  }

  public bodies(): Record<string, unknown>[] {
    return this.messages.map((m) => JSON.parse(m.body) as Record<string, unknown>);
  }

  public alerts(): { id: string; user: string; host: string }[] {
    return this.messages
      .filter((m) => m.attributes.kind === 'alert')
      .map((m) => ({ id: m.id, user: m.attributes.user ?? '', host: m.attributes.host ?? '' }));
  }
}
