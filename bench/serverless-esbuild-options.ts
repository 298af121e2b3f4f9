// serverless.yml (custom.esbuild) --> (the options serverless-esbuild hands to esbuild) --> bench
//
// The cold-start benchmark bundles the function itself, with the deployment's options, instead
// of running `osls package` (which takes minutes). This reads the `custom.esbuild` block and
// turns it into esbuild build options the way serverless-esbuild 1.x does (src/bundle.ts there):
// plugin-only keys removed, `exclude` appended to `external`, `outputFileExtension` as
// `outExtension`. The block is plain YAML (scalars, flow lists, nested maps); anything else is an
// error naming the line, never a silent guess.

import { readFile } from 'node:fs/promises';
import type { BuildOptions } from 'esbuild';

/** Keys serverless-esbuild consumes itself and removes before calling esbuild. */
const PLUGIN_KEYS = [
  'concurrency',
  'zipConcurrency',
  'exclude',
  'nativeZip',
  'packager',
  'packagePath',
  'watch',
  'keepOutputDirectory',
  'packagerOptions',
  'installExtraArgs',
  'outputFileExtension',
  'outputBuildFolder',
  'outputWorkFolder',
  'nodeExternals',
  'skipBuild',
  'skipRebuild',
  'skipBuildExcludeFns',
  'stripEntryResolveExtensions',
  'disposeContext',
];

type Yaml = string | number | boolean | Yaml[] | { [key: string]: Yaml };

/** Removes a `#` comment that is outside quotes. */
function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) return line.slice(0, i);
  }
  return line;
}

function scalar(text: string, where: string): Yaml {
  const t = text.trim();
  if (t.startsWith('"')) return JSON.parse(t) as string;
  if (t.startsWith("'")) return t.slice(1, -1).replaceAll("''", "'");
  if (t.startsWith('[')) {
    if (!t.endsWith(']')) throw new Error(`${where}: unsupported flow sequence ${t}`);
    const inner = t.slice(1, -1).trim();
    return inner === '' ? [] : inner.split(',').map((part) => scalar(part, where));
  }
  if (t.startsWith('{') || t.startsWith('&') || t.startsWith('*') || t.startsWith('!') || t.startsWith('|') || t.startsWith('>')) {
    throw new Error(`${where}: unsupported YAML ${t}`);
  }
  if (t === 'true' || t === 'false') return t === 'true';
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  return t;
}

/** The map at `lines[from]` and below, indented by `indent`; returns it and where it stopped. */
function parseMap(lines: { indent: number; text: string; no: number }[], from: number, indent: number): [Record<string, Yaml>, number] {
  const map: Record<string, Yaml> = {};
  let i = from;
  while (i < lines.length) {
    const line = lines[i] as { indent: number; text: string; no: number };
    if (line.indent < indent) break;
    if (line.indent > indent) throw new Error(`serverless.yml:${line.no}: unexpected indentation`);
    const m = /^([A-Za-z0-9_.-]+):(?:\s+(.*))?$/.exec(line.text);
    if (!m) throw new Error(`serverless.yml:${line.no}: unsupported YAML ${line.text}`);
    const [, key = '', value] = m;
    if (value !== undefined && value.trim() !== '') {
      map[key] = scalar(value, `serverless.yml:${line.no}`);
      i++;
    } else {
      const next = lines[i + 1];
      if (!next || next.indent <= indent) throw new Error(`serverless.yml:${line.no}: ${key} has no value`);
      const [child, end] = parseMap(lines, i + 1, next.indent);
      map[key] = child;
      i = end;
    }
  }
  return [map, i];
}

/** `custom.esbuild` of a serverless.yml text. */
export function customEsbuild(yaml: string): Record<string, Yaml> {
  const raw = yaml.split('\n');
  const custom = raw.findIndex((l) => /^custom:\s*$/.test(l));
  if (custom < 0) throw new Error('serverless.yml has no custom: block');
  const start = raw.findIndex((l, i) => i > custom && /^ {2}esbuild:\s*$/.test(l));
  if (start < 0) throw new Error('serverless.yml has no custom.esbuild block');
  const lines: { indent: number; text: string; no: number }[] = [];
  for (let i = start + 1; i < raw.length; i++) {
    const text = stripComment(raw[i] ?? '').trimEnd();
    if (text.trim() === '') continue;
    const indent = text.length - text.trimStart().length;
    if (indent <= 2) break;
    lines.push({ indent, text: text.trim(), no: i + 1 });
  }
  const first = lines[0];
  if (!first) throw new Error('custom.esbuild is empty');
  return parseMap(lines, 0, first.indent)[0];
}

export interface DeploymentBuild {
  /** What serverless.yml says, as parsed. */
  custom: Record<string, Yaml>;
  /** The options esbuild gets (without entry points and output directory). */
  options: BuildOptions;
  /** Extension of the bundle, e.g. `.mjs`. */
  extension: string;
}

/** esbuild options equivalent to what serverless-esbuild builds the function with. */
export async function deploymentBuild(serverlessYml: string): Promise<DeploymentBuild> {
  const custom = customEsbuild(await readFile(serverlessYml, 'utf8'));
  const rest: Record<string, Yaml> = { ...custom };
  for (const key of PLUGIN_KEYS) delete rest[key];
  const exclude = Array.isArray(custom['exclude']) ? custom['exclude'].map(String) : [];
  const external = Array.isArray(rest['external']) ? rest['external'].map(String) : [];
  const extension = typeof custom['outputFileExtension'] === 'string' ? custom['outputFileExtension'] : '.js';
  const options = {
    // serverless-esbuild's defaults, then the file's settings.
    bundle: true,
    platform: 'node',
    ...rest,
    external: [...external, ...(exclude.includes('*') ? [] : exclude)],
    ...(extension === '.js' ? {} : { outExtension: { '.js': extension } }),
  } as BuildOptions;
  return { custom, options, extension };
}
