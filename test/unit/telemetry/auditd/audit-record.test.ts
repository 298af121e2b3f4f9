import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditIdOf, auditTypeOf, parseAuditRecord } from '../../../../src/telemetry/auditd/audit-record.js';
import { corpusPath } from '../../../corpus.js';

const GS = '\x1d';

/** Every `.log` file of the corpus, recursively. */
function corpusLogFiles(): string[] {
  const root = corpusPath();
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.log')) files.push(path);
    }
  };
  walk(root);
  return files.sort();
}

/** What a well-formed header looks like, written independently of the parser under test. */
const WELL_FORMED = /^(node=\S+ )?type=\S+ msg=audit\(\d+\.\d+:\d+\)(:|\s)/;

describe('parseAuditRecord on the real corpus', () => {
  it('parses every well-formed line of every corpus .log file and cleanly rejects the rest', () => {
    // Prepare
    const files = corpusLogFiles();
    expect(files.length).toBeGreaterThanOrEqual(15);
    let parsed = 0;
    let rejected = 0;

    for (const file of files) {
      const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
      for (const line of lines) {
        // Act
        const record = parseAuditRecord(line);

        // Assess
        const where = `${relative(corpusPath(), file)}: ${line.slice(0, 80)}`;
        if (WELL_FORMED.test(line)) {
          expect(record, where).toBeDefined();
          expect(record?.auditId, where).toBe(/msg=audit\(([^)]*)\)/.exec(line)?.[1]);
          expect(Number.isSafeInteger(record?.time), where).toBe(true);
          expect(auditIdOf(line), where).toEqual({ node: record?.node, auditId: record?.auditId });
          parsed++;
        } else {
          expect(record, where).toBeUndefined();
          expect(auditIdOf(line), where).toBeUndefined();
          rejected++;
        }
      }
    }
    expect(parsed).toBeGreaterThan(350);
    // The UNKNOWN[1329] lines of the RHEL7 excerpt lost their payload: `type=UNKNOWN[1329] msg=\uFFFD`.
    expect(rejected).toBeGreaterThanOrEqual(30);
  });

  it('reads the audit time as milliseconds since the epoch and keeps the id exactly as written', () => {
    // Prepare
    const line = readFileSync(corpusPath('beats-filebeat-auditd', 'audit-rhel7-gce-connect-excerpt.log'), 'utf8')
      .split('\n')
      .find((l) => l.includes(':688): arch='));

    // Act
    const record = parseAuditRecord(line ?? '');

    // Assess
    expect(record).toMatchObject({ node: '', type: 'SYSCALL', auditId: '1481078424.953:688', time: 1481078424953 });
    expect({ ...record?.fields }).toMatchObject({
      arch: 'c000003e',
      syscall: '42',
      success: 'no',
      exit: '-115',
      uid: '0',
      auid: '4294967295',
      comm: '"google_accounts"',
      exe: '"/usr/bin/python2.7"',
      key: '(null)',
    });
    expect(record?.enriched).toBeUndefined();
  });

  it('reads the node= prefix of the CentOS 7 log', () => {
    // Prepare
    const line = readFileSync(corpusPath('beats-filebeat-auditd', 'audit-cent7-node.log'), 'utf8').split('\n')[0] ?? '';

    // Act
    const record = parseAuditRecord(line);

    // Assess
    expect(record).toMatchObject({ node: 'localhost.localdomain', type: 'DAEMON_START', auditId: '1594053514.588:4686' });
    expect(record?.fields['format']).toBe('raw');
    expect(auditIdOf(line)).toEqual({ node: 'localhost.localdomain', auditId: '1594053514.588:4686' });
  });

  it('reads the interpreted SYSCALL form and the legacy unquoted argument of test.log', () => {
    // Prepare
    const lines = readFileSync(corpusPath('beats-filebeat-auditd', 'test.log'), 'utf8').split('\n');
    const syscall = lines.find((l) => l.includes('arch=x86_64')) ?? '';
    const execve = lines.find((l) => l.includes('a0=top')) ?? '';

    // Act
    const records = [parseAuditRecord(syscall), parseAuditRecord(execve)];

    // Assess
    expect({ ...records[0]?.fields }).toMatchObject({ arch: 'x86_64', syscall: 'execve', uid: 'vagrant', comm: 'top', exe: '/usr/bin/top' });
    expect({ ...records[1]?.fields }).toEqual({ argc: '1', a0: 'top' });
  });

  it('keeps a quoted value holding `=` and spaces whole, and single-quoted user messages as one value', () => {
    // Prepare
    const line =
      'type=USER_CMD msg=audit(1481078413.216:670): pid=1529 uid=1000 auid=1000 ses=3 msg=\'cwd="/home/some_user" cmd=2E2F terminal=pts/0 res=success\'';
    const keyed = 'type=SYSCALL msg=audit(1492753107.096:9004): arch=c000003e syscall=42 key="key=net"';

    // Act
    const records = [parseAuditRecord(line), parseAuditRecord(keyed)];

    // Assess
    expect(records[0]?.fields['msg']).toBe('\'cwd="/home/some_user" cmd=2E2F terminal=pts/0 res=success\'');
    expect(records[0]?.fields['cwd']).toBeUndefined();
    expect(records[1]?.fields['key']).toBe('"key=net"');
  });
});

describe('parseAuditRecord on ENRICHED records', () => {
  it('splits the interpreted fields after the 0x1D byte and removes their quotes', () => {
    // Prepare: modelled on FORMAT_NOTES §5 (laurel/record-execve.txt)
    const line =
      'type=SYSCALL msg=audit(1723819442.459:2482681): arch=c000003e syscall=42 success=no exit=-115 a0=3 a1=7ffd a2=10 a3=0 items=0 ppid=1 pid=4242 auid=4294967295 uid=33 gid=33 euid=33 suid=33 fsuid=33 egid=33 sgid=33 fsgid=33 tty=(none) ses=4294967295 comm="curl" exe="/usr/bin/curl" subj=unconfined key=(null)' +
      `${GS}ARCH=x86_64 SYSCALL=connect AUID="unset" UID="www-data" GID="www-data" EUID="www-data"`;

    // Act
    const record = parseAuditRecord(line);

    // Assess
    expect(record?.fields['key']).toBe('(null)');
    expect(record?.fields['uid']).toBe('33');
    expect({ ...record?.enriched }).toEqual({
      ARCH: 'x86_64',
      SYSCALL: 'connect',
      AUID: 'unset',
      UID: 'www-data',
      GID: 'www-data',
      EUID: 'www-data',
    });
  });

  it('keeps the braces and spaces of SADDR={ ... } in one value', () => {
    // Prepare
    const line = `type=SOCKADDR msg=audit(1723819442.459:2482681): saddr=02000050A9FEA9FE0000000000000000${GS}SADDR={ saddr_fam=inet laddr=169.254.169.254 lport=80 }`;

    // Act
    const record = parseAuditRecord(line);

    // Assess
    expect(record?.fields['saddr']).toBe('02000050A9FEA9FE0000000000000000');
    expect(record?.enriched?.['SADDR']).toBe('{ saddr_fam=inet laddr=169.254.169.254 lport=80 }');
  });

  it('does not take a 0x1D byte inside a quoted raw value for the separator', () => {
    // Prepare
    const line = `type=USER_ACCT msg=audit(1.000:1): pid=1 msg='op=x acct="a${GS}b" res=success'${GS}UID="root"`;

    // Act
    const record = parseAuditRecord(line);

    // Assess
    expect(record?.fields['msg']).toBe(`'op=x acct="a${GS}b" res=success'`);
    expect({ ...record?.enriched }).toEqual({ UID: 'root' });
  });
});

describe('parseAuditRecord on malformed lines', () => {
  it('rejects lines that are not audit records or are cut inside the header', () => {
    // Prepare
    const lines = [
      '',
      'hello world',
      '{"message":"type=SYSCALL msg=audit(1.2:3): a=b"}',
      'type=SYSCALL msg=audit(1481078424.953:688',
      'type=SYSCALL msg=audit(1481078424.953:688)',
      'type=SYSCALL msg=audit(1481078424.953:688)x arch=c000003e',
      'type=SYSCALL msg=audit(1481078424:688): arch=c000003e',
      'type=SYSCALL msg=audit(07/27/2017 12:18:27.019:845): arch=x86_64',
      'type= msg=audit(1.2:3): a=b',
      'node=host',
      'type=UNKNOWN[1329] msg=\uFFFD',
      '----',
      'time->Wed Dec  7 02:40:24 2016',
    ];

    // Act
    const records = lines.map(parseAuditRecord);
    const ids = lines.map(auditIdOf);

    // Assess
    expect(records.every((r) => r === undefined)).toBe(true);
    expect(ids.every((r) => r === undefined)).toBe(true);
  });

  it('accepts the old DAEMON_* header without the colon after the id', () => {
    // Prepare: go-libaudit/auparse_testdata_audit-rhel7.log
    const line =
      'type=DAEMON_CONFIG msg=audit(1490239800.477:34) config changed, auid=0 pid=1512 subj=system_u:system_r:unconfined_service_t:s0 res=success';

    // Act
    const record = parseAuditRecord(line);

    // Assess
    expect(record).toMatchObject({ type: 'DAEMON_CONFIG', auditId: '1490239800.477:34' });
    expect(record?.fields['auid']).toBe('0');
  });

  it('keeps a record whose body was cut inside a quoted value, up to the cut', () => {
    // Prepare
    const line = 'type=SYSCALL msg=audit(1481078424.953:688): arch=c000003e syscall=42 uid=0 comm="google_acc';

    // Act
    const record = parseAuditRecord(line);

    // Assess
    expect({ ...record?.fields }).toEqual({ arch: 'c000003e', syscall: '42', uid: '0', comm: '"google_acc' });
  });

  it('accepts a trailing CR/LF and an empty body', () => {
    // Prepare
    const lines = ['type=EOE msg=audit(1723819442.459:2482681): \r\n', 'type=EOE msg=audit(1723819442.459:2482681):'];

    // Act
    const records = lines.map(parseAuditRecord);

    // Assess
    expect(records.map((r) => r && { type: r.type, fields: { ...r.fields } })).toEqual([
      { type: 'EOE', fields: {} },
      { type: 'EOE', fields: {} },
    ]);
  });

  it('does not let a field named __proto__ or constructor change the record', () => {
    // Prepare
    const line = 'type=SYSCALL msg=audit(1.000:1): __proto__=x constructor=y uid=0';

    // Act
    const record = parseAuditRecord(line);

    // Assess
    expect(record?.fields['__proto__']).toBe('x');
    expect(record?.fields['constructor']).toBe('y');
    expect(record?.fields['toString']).toBeUndefined();
    expect(Object.getPrototypeOf(record?.fields)).toBeNull();
  });

  it('parses a 256 KB line in linear time', () => {
    // Prepare: pathological shapes for a backtracking scanner
    const size = 256 * 1024;
    const header = 'type=EXECVE msg=audit(1.000:1): ';
    const lines = [
      header + '"'.repeat(size),
      header + 'a='.repeat(size / 2),
      header + `a0="${'='.repeat(size)}`,
      header + '{'.repeat(size),
      header + ' '.repeat(size) + 'x',
      `node=${'n'.repeat(size)}`,
      header + `a=${'\x1d'.repeat(size)}`,
    ];

    // Act
    const started = performance.now();
    for (const line of lines) {
      parseAuditRecord(line);
      auditIdOf(line);
    }
    const elapsed = performance.now() - started;

    // Assess
    expect(elapsed).toBeLessThan(1000);
  });
});

describe('auditIdOf and auditTypeOf', () => {
  it('read the node, id and type from the header only', () => {
    // Prepare
    const line = 'node=ip-10-0-1-12 type=SOCKADDR msg=audit(1700000000.123:456): saddr=02000050A9FEA9FE0000000000000000';

    // Act
    const id = auditIdOf(line);
    const type = auditTypeOf(line);

    // Assess
    expect(id).toEqual({ node: 'ip-10-0-1-12', auditId: '1700000000.123:456' });
    expect(type).toBe('SOCKADDR');
  });
});
