// imds-watch replay --report, opened in a real browser: headless Chromium from the command line
// (the Debian package `chromium`; .ci/run installs it). No npm browser driver.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { capturedIo } from '../support/captured-io.js';
import { ecsCall, MINUTE, regular } from '../support/run-harness.js';

const CHROMIUM = '/usr/bin/chromium';
const T0 = Date.parse('2026-11-02T00:00:00Z');
const H = 3_600_000;
const EVIL = '<img src=x onerror=alert(1)>';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'imds-watch-report-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function requireChromium(): string {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not installed: apt-get install -y chromium (looked for ${CHROMIUM})`);
  return CHROMIUM;
}

/** Runs headless Chromium on a page with a fresh profile; resolves with what it printed. */
async function chromium(page: string, ...extra: string[]): Promise<{ stdout: string; stderr: string }> {
  const binary = requireChromium();
  const profile = await mkdtemp(path.join(dir, 'profile-'));
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-dev-shm-usage',
    `--user-data-dir=${profile}`,
    // The page's console (script errors, CSP violations) goes to stderr.
    '--enable-logging=stderr',
    '--v=0',
    ...extra,
    pathToFileURL(page).href,
  ];
  try {
    return await new Promise((resolve, reject) => {
      execFile(binary, args, { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`chromium failed: ${error.message}\n${stderr.slice(-2000)}`));
        else resolve({ stdout, stderr });
      });
    });
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/** The console messages Chromium logged for the page. */
const consoleLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l.includes(':CONSOLE'));

interface Png {
  width: number;
  height: number;
  /** RGBA, 4 bytes a pixel. */
  pixels: Uint8Array;
}

/** A minimal PNG reader: 8-bit RGB or RGBA, not interlaced (what Chromium writes). */
function readPng(bytes: Buffer): Png {
  expect(bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (offset < bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colour, , , interlace] = [data[8], data[9], data[10], data[11], data[12]];
      expect({ depth, interlace }).toEqual({ depth: 8, interlace: 0 });
      channels = colour === 6 ? 4 : colour === 2 ? 3 : 0;
      expect(channels, `PNG colour type ${colour}`).toBeGreaterThan(0);
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const rows = new Uint8Array(height * stride);
  for (let yy = 0; yy < height; yy++) {
    const filter = raw[yy * (stride + 1)] as number;
    const src = raw.subarray(yy * (stride + 1) + 1, (yy + 1) * (stride + 1));
    const at = yy * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? (rows[at + i - channels] as number) : 0;
      const b = yy > 0 ? (rows[at - stride + i] as number) : 0;
      const c = yy > 0 && i >= channels ? (rows[at - stride + i - channels] as number) : 0;
      const x = src[i] as number;
      let v: number;
      if (filter === 0) v = x;
      else if (filter === 1) v = x + a;
      else if (filter === 2) v = x + b;
      else if (filter === 3) v = x + ((a + b) >> 1);
      else {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v = x + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
      rows[at + i] = v & 0xff;
    }
  }
  const pixels = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    for (let k = 0; k < 3; k++) pixels[p * 4 + k] = rows[p * channels + k] as number;
    pixels[p * 4 + 3] = channels === 4 ? (rows[p * channels + 3] as number) : 255;
  }
  return { width, height, pixels };
}

const ndjson = (events: ReturnType<typeof ecsCall>[]) =>
  events
    .map((e) => JSON.stringify({ timestamp: e.timestamp, ingestionTime: e.ingestionTime, logGroupName: e.logGroup, logStreamName: e.logStream, eventId: e.eventId, message: e.message }))
    .join('\n');

describe('imds-watch replay --report, in headless Chromium', () => {
  let html: string;
  let alertIds: string[];

  beforeAll(async () => {
    // A regular root on h1; www-data (on h1) and a user whose name is HTML (on h2) call once each after the learning period.
    const input = path.join(dir, 'fleet.ndjson');
    await writeFile(
      input,
      ndjson([
        ...regular('root', 'h1', T0, T0 + 3 * H, 5 * MINUTE),
        ecsCall({ time: T0 + 2 * H + MINUTE, user: 'www-data', host: 'h1', ip: '169.254.169.254' }),
        ecsCall({ time: T0 + 2 * H + 31 * MINUTE, user: EVIL, host: 'h2', ip: '169.254.169.254' }),
      ]),
    );
    const config = path.join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ learningPeriod: '1h' }));
    html = path.join(dir, 'report.html');
    const out = path.join(dir, 'alerts.ndjson');
    const io = capturedIo();
    const code = await main(
      ['replay', '--input', input, '--from', '2026-11-02T00:00:00Z', '--to', '2026-11-02T03:00:00Z', '--config', config, '--out', out, '--report', html],
      io,
    );
    expect(code, io.err()).toBe(0);
    // The replay's contract holds: JSON lines on stderr, the summary last, the report's path before it.
    const lines = io.err().trim().split('\n').map((l) => JSON.parse(l) as { type: string; path?: string; users?: number });
    expect(lines.filter((l) => l.type === 'run-summary')).toHaveLength(12);
    expect(lines.at(-2)).toEqual({ type: 'replay-report', path: html, users: 3 });
    expect(lines.at(-1)?.type).toBe('replay-summary');
    alertIds = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: { id: string; kind: string }; user: { name: string } })
      .filter((m) => m.event.kind === 'alert')
      .map((m) => m.event.id);
    expect(alertIds).toHaveLength(2);
  }, 120_000);

  it('renders the rows and the alert markers, runs its script without error, and keeps HTML in names inert', async () => {
    // Act
    const { stdout: dom, stderr } = await chromium(html, '--dump-dom');
    // Assess: the page's script ran (it marks <body>), and nothing went wrong on the console.
    expect(dom).toMatch(/<body[^>]*\bdata-rendered="yes"/);
    expect(consoleLines(stderr), 'console messages').toEqual([]);
    const rows = [...dom.matchAll(/<tr class="user[^"]*" data-user="([^"]*)"/g)].map((m) => m[1]);
    // Both alerted with the same score: by name ('<' sorts before 'w'); the regular caller last.
    expect(rows).toEqual(['&lt;img src=x onerror=alert(1)&gt;', 'www-data', 'root']);
    for (const id of alertIds) expect(dom).toContain(`data-alert-id="${id}"`);
    expect(dom.match(/<g class="alert"/g)).toHaveLength(2);
    // The HTML in the user name is text: no <img> element was created.
    expect(dom).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(dom).not.toMatch(/<img/i);
    // The filters (JS only) were revealed.
    expect(dom).toMatch(/<div id="controls">/);
  }, 120_000);

  it('takes a screenshot that is not blank', async () => {
    // Act
    const png = path.join(dir, 'report.png');
    await chromium(html, `--screenshot=${png}`, '--window-size=1280,900');
    // Assess
    expect((await stat(png)).size).toBeGreaterThan(20_000);
    const image = readPng(await readFile(png));
    expect({ width: image.width, height: image.height }).toEqual({ width: 1280, height: 900 });
    let ink = 0;
    let red = 0;
    const colours = new Set<number>();
    for (let p = 0; p < image.width * image.height; p++) {
      const [r, g, b] = [image.pixels[p * 4] as number, image.pixels[p * 4 + 1] as number, image.pixels[p * 4 + 2] as number];
      if (r < 200 || g < 200 || b < 200) ink++;
      // The score colour of anomalies and alerts (#d62728), allowing for antialiasing.
      if (Math.abs(r - 0xd6) < 24 && Math.abs(g - 0x27) < 24 && Math.abs(b - 0x28) < 24) red++;
      colours.add((r << 16) | (g << 8) | b);
    }
    expect(ink / (image.width * image.height)).toBeGreaterThan(0.02);
    expect(colours.size).toBeGreaterThan(50);
    expect(red).toBeGreaterThan(30);
  }, 120_000);

  it('stops with one line, before replaying, when the report cannot be written', async () => {
    const input = path.join(dir, 'one.ndjson');
    await writeFile(input, ndjson([ecsCall({ time: T0, user: 'root', host: 'h1', ip: '169.254.169.254' })]));
    const io = capturedIo();
    const code = await main(['replay', '--input', input, '--report', path.join(dir, 'no', 'such', 'dir', 'r.html')], io);
    expect(code).toBe(2);
    expect(io.err().trim().split('\n')).toEqual([expect.stringMatching(/^imds-watch: cannot write report .*r\.html: ENOENT$/)]);
  });
});
