// anomaly --> (exceptions) --> publish, or record as excepted with the reason

import picomatch from 'picomatch';
import type { ExceptionRule } from '../config/detector-config.js';

/** What an exception is matched against. */
export interface ExceptionSubject {
  user: string;
  hosts: readonly string[];
  /** Names and executables of every process of the anomaly. */
  processes: readonly { name?: string; executable?: string }[];
}

export interface CompiledException {
  rule: ExceptionRule;
  matches(subject: ExceptionSubject, at: number): boolean;
}

// bash: a single `*` also crosses `/`, so `*backup*` matches `/opt/backup/run.sh`.
const glob = (pattern: string): ((s: string) => boolean) => picomatch(pattern, { bash: true, dot: true });

/**
 * All given fields must match. A process or host glob must match every process or host of the
 * anomaly: an exception for the aws CLI must not hide a curl in the same bucket.
 */
export function compileException(rule: ExceptionRule): CompiledException {
  const user = rule.user ? glob(rule.user) : undefined;
  const host = rule.host ? glob(rule.host) : undefined;
  const process = rule.process ? glob(rule.process) : undefined;
  const expires = rule.expires ? Date.parse(rule.expires) : undefined;
  return {
    rule,
    matches(subject, at) {
      if (expires !== undefined && at >= expires) return false;
      if (user && !user(subject.user)) return false;
      if (host && (subject.hosts.length === 0 || !subject.hosts.every(host))) return false;
      if (
        process &&
        (subject.processes.length === 0 ||
          !subject.processes.every((p) => [p.name, p.executable].some((v) => v !== undefined && process(v))))
      )
        return false;
      return true;
    },
  };
}

/** The first exception that applies at `at`, if any. */
export function findException(
  exceptions: readonly CompiledException[],
  subject: ExceptionSubject,
  at: number,
): ExceptionRule | undefined {
  return exceptions.find((e) => e.matches(subject, at))?.rule;
}
