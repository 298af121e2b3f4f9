import { describe, expect, it } from 'vitest';
import { compileException, findException } from '../../../src/alerts/exceptions.js';

const T = Date.parse('2026-11-27T12:00:00Z');
const subject = {
  user: 'backup',
  hosts: ['ip-10-0-1-12'],
  processes: [{ name: 'restic', executable: '/opt/backup/bin/restic' }],
};

describe('exceptions', () => {
  it('applies when every given field matches', () => {
    const rule = compileException({ user: 'backup', process: '*restic', host: 'ip-10-0-*', reason: 'nightly backup' });
    expect(rule.matches(subject, T)).toBe(true);
  });

  it('lets a single star cross slashes in executables', () => {
    expect(compileException({ process: '*backup*', reason: 'r' }).matches(subject, T)).toBe(true);
  });

  it('does not apply when one given field differs', () => {
    expect(compileException({ user: 'backup', host: 'db-*', reason: 'r' }).matches(subject, T)).toBe(false);
    expect(compileException({ user: 'www-*', reason: 'r' }).matches(subject, T)).toBe(false);
  });

  it('does not hide a curl that shares the bucket with an excepted process', () => {
    const mixed = { ...subject, processes: [...subject.processes, { name: 'curl', executable: '/usr/bin/curl' }] };
    expect(compileException({ process: '*restic', reason: 'r' }).matches(mixed, T)).toBe(false);
  });

  it('stops applying at its expiry', () => {
    const rule = compileException({ user: 'backup', reason: 'r', expires: '2026-11-27T12:00:00Z' });
    expect(rule.matches(subject, T - 1)).toBe(true);
    expect(rule.matches(subject, T)).toBe(false);
  });

  it('returns the first matching rule with its reason', () => {
    const rules = [compileException({ user: 'alice', reason: 'a' }), compileException({ user: 'back*', reason: 'b' })];
    expect(findException(rules, subject, T)?.reason).toBe('b');
    expect(findException(rules, { ...subject, user: 'bob' }, T)).toBeUndefined();
  });
});
