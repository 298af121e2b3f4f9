// --config FILE --> (read, parse, validate) --> DetectorConfig; every CLI command reads it this way.

import { readFile } from 'node:fs/promises';
import { ConfigError, InputError } from '../errors.js';
import { defaultDetectorConfig, parseDetectorConfig, type DetectorConfig } from './detector-config.js';

/** The configuration in a JSON file, else the defaults. Errors name the file (and the key). */
export async function loadConfigFile(file: string | undefined): Promise<DetectorConfig> {
  if (file === undefined) return defaultDetectorConfig();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read config ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return parseDetectorConfig(raw, file);
}
