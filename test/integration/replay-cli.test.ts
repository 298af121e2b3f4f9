import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { ensureSampleTelemetry } from '../../src/simulator/sample.js';
import { capturedIo } from '../support/captured-io.js';
import { ecsCall, MINUTE, regular } from '../support/run-harness.js';

const T0 = Date.parse('2026-11-02T00:00:00Z');
const H = 3_600_000;
let dir: string;

const ndjson = (events: ReturnType<typeof ecsCall>[]) =>
  events
    .map((e) => JSON.stringify({ timestamp: e.timestamp, ingestionTime: e.ingestionTime, logGroupName: e.logGroup, logStreamName: e.logStream, eventId: e.eventId, message: e.message }))
    .join('\n');

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'imds-watch-cli-'));
});

describe('imds-watch replay: usage errors', () => {
  it.each([
    [['replay', '--bogus'], /unknown option --bogus/],
    [['replay', '--input'], /--input needs at least one file/],
    [['replay', '--input', '/no/such/file.ndjson'], /cannot read input \/no\/such\/file\.ndjson: no such file/],
    [['replay', '--from', 'yesterday'], /--from needs an ISO 8601 time/],
    [['replay', '--from', '2026-11-02T01:00:00Z', '--to', '2026-11-02T00:00:00Z'], /--to must be after --from/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ])('exits 2 with one line for %j', async (argv, message) => {
    // Prepare
    const io = capturedIo();
    // Act
    const code = await main(argv, io);
    // Assess
    expect(code).toBe(2);
    expect(io.err()).toMatch(message);
    expect(io.err().trim().split('\n')).toHaveLength(1);
  });

  it('exits 2 naming the key of an invalid config', async () => {
    const config = path.join(dir, 'bad.json');
    await writeFile(config, JSON.stringify({ learningPeriod: 'a while' }));
    const input = path.join(dir, 'empty.ndjson');
    await writeFile(input, ndjson([ecsCall({ time: T0, user: 'root', host: 'h', ip: '169.254.169.254' })]));
    const io = capturedIo();
    expect(await main(['replay', '--input', input, '--config', config], io)).toBe(2);
    expect(io.err()).toMatch(/bad\.json: invalid learningPeriod: learningPeriod must be a duration/);
  });
});

describe('imds-watch replay: runs', () => {
  it('writes alerts as JSON lines to --out and one summary per run to stderr', async () => {
    // Prepare
    const input = path.join(dir, 'fleet.ndjson');
    const events = [...regular('root', 'h1', T0, T0 + 3 * H, 5 * MINUTE), ecsCall({ time: T0 + 2 * H + MINUTE, user: 'www-data', host: 'h1', ip: '169.254.169.254' })];
    await writeFile(input, `${ndjson(events)}\nnot json at all\n{"truncated":`);
    const config = path.join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ learningPeriod: '1h' }));
    const out = path.join(dir, 'alerts.ndjson');
    const io = capturedIo();
    // Act
    const code = await main(['replay', '--input', input, '--from', '2026-11-02T00:00:00Z', '--to', '2026-11-02T03:00:00Z', '--config', config, '--out', out], io);
    // Assess
    expect(code).toBe(0);
    const alerts = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(alerts.map((a) => a.user.name)).toEqual(['www-data']);
    const lines = io.err().trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.type === 'run-summary')).toHaveLength(12);
    const total = lines.at(-1);
    expect(total).toMatchObject({ type: 'replay-summary', runs: 12 });
    expect(total.skipped).toMatchObject({ 'invalid-json': 1, 'unknown-format': 1 });
  });

  it('shows events to a run only once they are ingested', async () => {
    // Prepare: happens at 2h01, ingested at 2h40; a replay that stops at 2h30 must not see it.
    const input = path.join(dir, 'late.ndjson');
    const late = ecsCall({ time: T0 + 2 * H + MINUTE, user: 'www-data', host: 'h1', ip: '169.254.169.254', lag: 39 * MINUTE });
    await writeFile(input, ndjson([...regular('root', 'h1', T0, T0 + 3 * H, 5 * MINUTE), late]));
    const config = path.join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ learningPeriod: '1h' }));
    const early = capturedIo();
    const full = capturedIo();
    // Act
    await main(['replay', '--input', input, '--from', '2026-11-02T00:00:00Z', '--to', '2026-11-02T02:30:00Z', '--config', config], early);
    await main(['replay', '--input', input, '--from', '2026-11-02T00:00:00Z', '--to', '2026-11-02T03:00:00Z', '--config', config], full);
    // Assess
    expect(early.out()).toBe('');
    expect(JSON.parse(full.out().trim())['@timestamp']).toBe('2026-11-02T02:45:00.000Z');
  });

  it('continues the same baselines from --state in a later replay', async () => {
    // Prepare: day one learns www-data; day two it calls again and must not alert.
    const state = path.join(dir, 'state');
    const input = path.join(dir, 'two-days.ndjson');
    const events = [
      ...regular('root', 'h1', T0, T0 + 30 * H, 5 * MINUTE),
      ecsCall({ time: T0 + 2 * H + MINUTE, user: 'www-data', host: 'h1', ip: '169.254.169.254' }),
      ecsCall({ time: T0 + 26 * H + MINUTE, user: 'www-data', host: 'h1', ip: '169.254.169.254' }),
    ];
    await writeFile(input, ndjson(events));
    const config = path.join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ learningPeriod: '1h' }));
    const day1 = capturedIo();
    const day2 = capturedIo();
    const fresh = capturedIo();
    // Act
    await main(['replay', '--input', input, '--from', '2026-11-02T00:00:00Z', '--to', '2026-11-02T12:00:00Z', '--config', config, '--state', state], day1);
    await main(['replay', '--input', input, '--from', '2026-11-03T00:00:00Z', '--to', '2026-11-03T06:00:00Z', '--config', config, '--state', state], day2);
    await main(['replay', '--input', input, '--from', '2026-11-03T00:00:00Z', '--to', '2026-11-03T06:00:00Z', '--config', config], fresh);
    // Assess: with the state, day two knows www-data; without it, www-data is new again.
    const alertsIn = (text: string) =>
      text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((m) => m.event.kind === 'alert').map((m) => m.user.name);
    expect(alertsIn(day1.out())).toEqual(['www-data']);
    expect(alertsIn(day2.out())).toEqual([]);
    expect(alertsIn(fresh.out())).toEqual(['www-data']);
  });

  it('shows progress and a summary table on a terminal', async () => {
    const input = path.join(dir, 'tty.ndjson');
    await writeFile(input, ndjson(regular('root', 'h1', T0, T0 + 3 * H, 5 * MINUTE)));
    const io = capturedIo(true);
    await main(['replay', '--input', input, '--from', '2026-11-02T00:00:00Z', '--to', '2026-11-02T03:00:00Z'], io);
    expect(io.err()).toMatch(/run 12\/12 \(100%\)/);
    expect(io.err()).toMatch(/events loaded\s+\d+/);
    expect(io.err()).toMatch(/alerts published\s+\d+/);
  });
});

describe('imds-watch replay: the bundled sample', () => {
  it('alerts on the injected attack and on nothing else', async () => {
    // Prepare
    await ensureSampleTelemetry();
    const io = capturedIo();
    // Act
    const code = await main(['replay'], io);
    // Assess
    expect(code).toBe(0);
    const messages = io.out().trim().split('\n').map((l) => JSON.parse(l));
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ user: { name: 'www-data' }, host: { name: 'ip-10-0-1-12' }, event: { kind: 'alert' } });
    expect(messages[0].evidence.some((e: { process: { name?: string } }) => e.process.name === 'curl')).toBe(true);
  });
});
