// threat model (below) + the tests that prove it --> (this script) --> SECURITY.md, section `threat-model`
//
// The attacks, defences and what is not defended are written here, as data; every test they name
// is looked up in its file first, so a renamed or deleted test stops the script instead of leaving
// SECURITY.md pointing at nothing. Only the `threat-model` section is replaced.
//
//   npx tsx scripts/write-security.ts

import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { replaceSection } from './markdown-section.js';

const SECURITY_MD = new URL('../SECURITY.md', import.meta.url);
const SECTION = 'threat-model';
const TITLE = '# Security';
const ATTACKS_TEST = 'test/security/attacks.test.ts';

/** A test, by file and by the exact name it is declared with (`it('…')`, `it.each(…)('…')`). */
interface TestRef {
  file: string;
  name: string;
}

interface Attack {
  attack: string;
  /** Who can do it (see Actors). */
  by: string;
  does: string;
  defence: string;
  tests: TestRef[];
  /** The removal of the defence that was tried, and made the tests fail. */
  removed?: string;
}

const t = (file: string, name: string): TestRef => ({ file, name });
const attacks = (name: string): TestRef => t(ATTACKS_TEST, name);

export const ASSETS = [
  '**Instance role credentials** on every monitored host: what a call to the metadata service hands out, and what the attacker is after. imds-watch does not guard them; it reports who reached for them.',
  '**The alert stream** (the SNS topic): that no alert is forged, hidden or silently dropped; that no text from a host rewrites a subject, an email or a log line; that no secret copied from a command line leaves in an alert.',
  '**Baselines** (the DynamoDB table): weeks of learning which users call the service, the anomaly records, run-time exceptions and the checkpoint. Whoever writes them decides who is "regular".',
  '**The detector itself**: its function role, the stack key, its ability to run every 15 minutes.',
];

export const ACTORS = [
  '**A local user on a monitored host**, unprivileged. Controls its own process names, executable paths, arguments, timing and volume of calls; not its user name nor the host name. Once it has called the metadata service it holds the instance role\'s credentials, and with the usual CloudWatch agent policy (`logs:PutLogEvents` on `*`) those can write to the log groups: it then becomes the next actor.',
  '**Someone with access to the log groups** (`logs:PutLogEvents`: root on a host, a stolen instance role): writes any event, with any user or host name, at any volume.',
  '**A subscriber** of the topic (email, SQS, HTTPS endpoint, chat integration): reads every alert and renders its subject, email text or JSON.',
  'Operators with IAM rights on the stack, the table or the topic are trusted (see "What is not defended").',
];

export const ATTACKS: Attack[] = [
  {
    attack: 'Alert flooding',
    by: 'log writer; root on one host',
    does: 'makes 1,000 new users call from one host so that the cap of 100 alerts per run is spent on them and a real anomaly on another host is never sent',
    defence:
      'the cap is shared fairly across hosts (every host\'s best anomaly before any host\'s second: `rankFairly`); what does not fit stays pending for later runs inside the look-back, every anomaly is recorded with its status (published, expired), and each capped run sends one overflow notice with the held-back count, the hosts and up to 50 waiting user/host pairs',
    removed: "`rankFairly` replaced by a plain sort by rank (both fail); the notice's host list emptied (the first fails)",
    tests: [
      attacks('publishes a real anomaly on another host in the first run although a thousand fake new users on one host fill the cap, and names what waits'),
      attacks('shares every later run fairly: a new real anomaly on a third host is published at once while the flood still waits, and nothing is published twice or dropped silently'),
    ],
  },
  {
    attack: 'Run poisoning by oversized evidence',
    by: 'local user',
    does: 'calls the metadata service a dozen times with 80 arguments of 2,000 characters: the anomaly record would pass DynamoDB\'s 400 KB item limit, so every run that read it would fail, for every host, and its own alert would never be recorded',
    defence:
      'the alert document is bounded where it is built (`alert-document.ts`): at most 64 arguments, 1,024 characters each and 8,192 together per process; names, paths and URLs 1,024; 100 related hosts; the whole document 192 KiB, dropping evidence from the end (counted in `evidence_truncated`)',
    removed: 'the 8,192-character budget removed (evidence trimmed to 2 events); the budget and the 192 KiB guard removed (the run throws: item size exceeded)',
    tests: [attacks('alerts on a local user who pads their command lines past the 400 KB DynamoDB item limit, and on everyone else in the same run')],
  },
  {
    attack: 'Run poisoning by oversized names',
    by: 'log writer',
    does: 'forges an event whose user (or host) name is 5,000 characters: `USER#<user>` passes DynamoDB\'s 2,048-byte key limit and every run that read it would fail',
    defence: 'user names, user ids and host names are cut to 256 characters, with a hash of the whole name so that distinct names stay distinct, where observations enter the core (`read-window.ts`)',
    removed: 'the bound in `read-window.ts` removed (the run throws: hash key over 2,048 bytes)',
    tests: [attacks('alerts on a forged event whose user and host names are longer than a DynamoDB key allows, and on everyone else in the same run')],
  },
  {
    attack: 'Injection into the SNS subject',
    by: 'local user (process text); log writer (user, host)',
    does: 'puts `\\r\\n`, `\\nSubject: pwned`, NUL, ANSI escapes, U+2028, bidi overrides, `<script>` or 5,000 characters into a user or host name so that the subject shows something else or forges a header',
    defence:
      'user and host enter the subject only as tokens of `[A-Za-z0-9._@:-]` cut to 24 and 28 characters (`subjectToken`); the subject is printable ASCII under 100 characters (`subjectLine`); the SNS sink checks it again and falls back to a fixed subject (`safeSubject`)',
    removed: '`subjectToken` returning its input (the first fails); `safeSubject` returning its input (the second fails)',
    tests: [
      attacks('keeps every SNS subject one printable ASCII line under 100 characters with no forged header, before and on the wire'),
      attacks('has the SNS sink check the subject and the attributes again, even when a message builder let raw text through'),
    ],
  },
  {
    attack: 'Injection into message attributes',
    by: 'as above',
    does: 'the same text in the `user` and `host` attributes that subscription filter policies and consumers read',
    defence: 'attributes are one line without control characters, at most 256 characters (`singleLine`), and again in the SNS sink (which also replaces lone surrogates)',
    removed: "`singleLine` returning its input (the first fails); the sink's `attributeText` passing values through (the second fails)",
    tests: [
      attacks('keeps every message attribute on one line without control characters, before and on the wire'),
      attacks('has the SNS sink check the subject and the attributes again, even when a message builder let raw text through'),
    ],
  },
  {
    attack: 'Injection into the email',
    by: 'as above',
    does: 'the same text in the plain-text email, to start a line that looks like a header or an instruction',
    defence: 'every value passes through `singleLine` (no line break, no control character, bounded), and every line starts with the renderer\'s own words, never with a value',
    removed: "`singleLine` returning its input; the line about the user starting with the user's name again",
    tests: [attacks('starts every line of the email text with the renderer\'s own words and leaves no control character in it')],
  },
  {
    attack: 'Injection into the JSON body',
    by: 'as above',
    does: 'the same text in the JSON document every other protocol receives',
    defence:
      'JSON escaping is the defence: the body parses back to exactly what the host wrote (very long names bounded as above); control characters, line and paragraph separators, zero-width and bidi characters are `\\u` escapes (`jsonText`), so the raw text is printable',
    removed: '`jsonText` replaced by `JSON.stringify` (raw U+2028 and bidi characters in the body)',
    tests: [attacks('carries the exact attacker values in the JSON body, where JSON escaping is the defence, with no raw control character in its text')],
  },
  {
    attack: 'Injection into the logs',
    by: 'as above',
    does: 'the same text in the function\'s log lines, to forge a log entry or hide one',
    defence:
      'the job logs, per run, a summary of counts, skip reasons and alert ids (hashes): never a user, host or process text; Powertools writes each entry as one JSON line. (JSON.stringify leaves U+2028 and bidi characters raw: the defence is that no host text is logged.)',
    removed: "the run's user names added to the run summary",
    tests: [attacks('logs each run as one line of JSON that carries counts and ids, never the attacker\'s text')],
  },
  {
    attack: 'Secrets in evidence',
    by: 'any user whose command line holds a secret (the attacker\'s own, or a victim\'s)',
    does: 'an IMDSv2 token (`X-aws-ec2-metadata-token`), `Authorization: Bearer …`, `AWS_SECRET_ACCESS_KEY=…`, `aws_session_token=…`, `--password hunter2`, an `ASIA…` key id, `?X-Amz-Security-Token=…`, a URL password, as argv or as one command-line string, would be copied to every subscriber and into the table',
    defence:
      'arguments and URLs are redacted when the alert document is built (`redact.ts`: secret headers, bearer values, `name=value`/`name: value` (also JSON and Python quoting), options followed by their value, access key ids, IMDSv2 token shapes, URL passwords), so neither the table, the topic nor the email sees them',
    removed: 'each of: the `--password value` rule, the next-argument rule, the `name=value` rule, the header and bearer rules (together), the access key id rule, the URL password rule; the IMDSv2 token shape together with quoted names in assignments (each alone is covered by the other)',
    tests: [
      attacks('redacts IMDSv2 tokens, bearer headers, keys, session tokens and passwords before an alert leaves or is stored'),
      t('test/unit/alerts/sanitize-and-redact.test.ts', 'redacts %s'),
    ],
  },
  {
    attack: 'Forged alerts or all-clears',
    by: 'any principal of this or another account',
    does: 'publishes its own message to the topic',
    defence:
      'the topic policy allows sns:Publish to the function\'s role and to CloudWatch for this stack\'s alarms only, denies every other principal even where its IAM policy allows it, and denies publishing without TLS',
    removed: 'the TLS deny made to deny sns:Subscribe instead; the deny of other publishers made to exempt another role',
    tests: [attacks('lets only the function role (and this stack\'s alarms) publish to the topic, and nobody over plain HTTP')],
  },
  {
    attack: 'Reading or using the stack key',
    by: 'any principal',
    does: 'decrypts the table or the topic\'s messages with the key',
    defence:
      'the key policy has two statements: `kms:*` for the account root (the default statement: it delegates to IAM and grants no one anything by itself; the function role gets GenerateDataKey*, Decrypt and Encrypt on this key only) and Decrypt/GenerateDataKey* for CloudWatch, for this stack\'s alarms in this account and region',
    removed: "the CloudWatch statement's principal made `AWS: '*'`",
    tests: [attacks('gives kms:* only to the account root, which delegates to IAM, and the key\'s one service grant only to this stack\'s alarms')],
  },
  {
    attack: 'Tampering with or losing the baselines',
    by: 'an operator mistake; a principal with table access',
    does: 'deletes or rewrites weeks of learning',
    defence: 'the table is encrypted with the stack key, has point-in-time recovery and deletion protection, and is retained when the stack is removed',
    removed: 'point-in-time recovery off',
    tests: [attacks('encrypts the table with the stack key and keeps point-in-time recovery on')],
  },
  {
    attack: 'Abusing the function\'s own credentials',
    by: 'whoever gets code execution in the function or its credentials',
    does: 'uses the role beyond what a run needs',
    defence:
      'the role has exactly the actions the code sends (every `new XCommand(` of the adapters the handler imports, in methods it calls) plus what AWS does on its behalf (the key, the on-failure queue, its own log group), each on named resources; `logs:DescribeLogGroups` is the one that IAM scopes no closer than the account and region; in the Logs Insights mode a separate policy adds `logs:StartQuery` on the same log groups and `logs:GetQueryResults`/`logs:StopQuery`, which take a query id and no resource',
    removed: '`dynamodb:Scan` added; `dynamodb:Query` removed; `sns:Publish` on `*`; a run-path call of `removeException` (DeleteItem) with no grant',
    tests: [attacks('grants the function exactly the actions its code sends, each on named resources')],
  },
];

export const BLINDING: Attack[] = [
  {
    attack: 'Stopping auditd or the CloudWatch agent',
    by: 'root on a host; everyone at once',
    does: 'stops the telemetry the detector reads',
    defence:
      'when the deployment reads no event for `noTelemetryAfter`, a health notice (kind `health-notice`) opens, and clears when data returns; the HealthConditionsOpen alarm and the no-telemetry alarm (EventsRead below 1 for an hour, missing data breaching) fire',
    tests: [
      t('test/integration/run-detection.test.ts', 'publishes one notice when telemetry stops and one when it returns'),
      t('test/integration/detect-job.test.ts', 'emits HealthConditionsOpen for the health alarm: 1 while no telemetry is read, 0 once data returns'),
      t('test/unit/health/health-monitor.test.ts', 'opens a no-telemetry condition once after the configured silence, and clears it when data returns'),
      t('test/deploy/packaged-template.test.ts', 'alarms on errors, throttles, runs near the timeout, failed runs, an hour without telemetry, uncovered time and missing log groups'),
    ],
  },
  {
    attack: 'Filling the log groups to slow the reads',
    by: 'log writer; local user (very chatty calls)',
    does: 'writes so many events that a run cannot read its window in time',
    defence:
      'the server-side filter pattern drops every line without a metadata needle and lines over 256 KB are skipped; reads stop at the invocation\'s deadline (TelemetryBudgetExceeded: the run fails loudly, with the Errors and Duration alarms, two retries and the failed-runs queue); catch-up runs that do not fit are deferred (a `time-budget` health notice) and time no run read is reported (UncoveredGapMs alarm)',
    tests: [
      t('test/unit/adapters/cloudwatch-logs-source.test.ts', 'stops with TelemetryBudgetExceeded naming the unread log groups when the deadline passes between pages'),
      t('test/integration/cloudwatch-logs-http.test.ts', 'aborts a request still in flight at the deadline and reports the budget exceeded'),
      t('test/integration/detect-job.test.ts', 'leaves catch-up runs to the next invocation when time runs short'),
      t('test/unit/health/health-monitor.test.ts', 'reports runs past their time budget and gaps that were not read'),
    ],
  },
  {
    attack: 'Evasion forms of the address',
    by: 'local user',
    does: 'writes the address as `2852039166`, `0xa9fea9fe`, `0251.0376.0251.0376`, `169.254.43518`, `[::ffff:a9fe:a9fe]`, `64:ff9b::a9fe:a9fe`, `METADATA.google.internal.`…',
    defence:
      'the endpoint catalogue reads every textual form of every endpoint (`ip-address.ts`, `endpoint-catalogue.ts`); network telemetry (auditd SOCKADDR, Defend connections) sees the address actually connected to, so a private DNS name that resolves to 169.254.169.254 is caught there (command-line matching alone would not see it)',
    tests: [
      t('test/unit/endpoints/ip-address.test.ts', 'reads %s as %s'),
      t('test/unit/endpoints/endpoint-catalogue.test.ts', 'finds the metadata URL in %s'),
      t('test/unit/endpoints/endpoint-catalogue.test.ts', 'matches the address %s on port 80 and with no port'),
      t('test/unit/endpoints/endpoint-catalogue.test.ts', 'matches metadata hostnames in any case and with a trailing dot'),
    ],
  },
];

export const OUT_OF_SCOPE = [
  '**Running as an already-known user.** The rule (like Elastic\'s) alerts on users who rarely or never call the metadata service, not on unusual calls: an attacker who is root, or who runs code as the SSM agent\'s or the application\'s user that refreshes credentials every hour, looks regular and is not reported. Catching that needs other signals (which process, which path, from which parent); the baselines record hosts and processes for `imds-watch baseline`, but do not score them.',
];

export const NOT_DEFENDED = [
  'A flood **on the same host** as a real anomaly: fairness is between hosts, so the real one competes with the flood on score, bucket and id. What does not fit within three runs of the cap (the look-back) expires unpublished: recorded as `expired`, and the overflow notices name the host and count it, but the alert itself may never be sent.',
  '**One host going silent** while others keep sending: the no-telemetry condition is for the whole deployment; there is no per-host heartbeat.',
  'A **sustained flood of needle-bearing junk** in the log groups keeps every run past its deadline: loud (alarms, failed-runs queue) but blind while it lasts.',
  '**Baseline poisoning** by a log writer: forged sightings of a user on half the days for weeks make it regular. The first forged sighting of a new user is itself an alert. A user\'s later anomalies within the suppression window are folded into its first alert.',
  '**Writers of the table** (operators, the function role) can add run-time exceptions or rewrite baselines; IAM is the only control, point-in-time recovery the way back.',
  '**Who may subscribe** is IAM in the account: the topic policy grants Subscribe to no one, but an account principal with `sns:Subscribe` can add an endpoint and read every alert.',
  '**Subscribers that render the JSON body** as HTML or Markdown must escape it: values are carried verbatim (`<script>` included); only control, separator and bidi characters are `\\u`-escaped.',
  'Secrets in **forms the patterns do not know** are not redacted: a bare 40-character secret key without its name, `-pSECRET`, custom header names.',
  '**Lone UTF-16 surrogates** in user and host names are replaced in SNS attributes but stored as they are; dynalite accepts them, DynamoDB\'s behaviour was not verified.',
  'The Logs Insights query in each alert quotes **log stream names** with JSON escaping; its quoting was not verified against hostile stream names (the agent names streams, usually by instance id).',
  'The role\'s `kms:Encrypt` is kept for DynamoDB\'s use of the table key on the caller\'s behalf; whether a deployment needs it was not verified. The framework scopes the function\'s own log permissions to `/aws/lambda/imds-watch-<stage>*`, which also covers other functions whose names start the same way.',
];

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const ref = (r: TestRef): string => `\`${r.file}\` › ${r.name}`;

function table(rows: readonly Attack[]): string[] {
  const removals = rows.some((a) => a.removed !== undefined);
  return [
    `| attack | by | what the attacker does | defence | proved by |${removals ? ' the tests failed with |' : ''}`,
    `| --- | --- | --- | --- | --- |${removals ? ' --- |' : ''}`,
    ...rows.map(
      (a) =>
        `| **${cell(a.attack)}** | ${cell(a.by)} | ${cell(a.does)} | ${cell(a.defence)} | ${a.tests.map((r) => cell(ref(r))).join('<br>')} |` +
        (removals ? ` ${cell(a.removed ?? '-')} |` : ''),
    ),
  ];
}

export function renderThreatModel(): string {
  return [
    '## Threat model',
    '',
    'imds-watch reports the first step of many cloud credential thefts. An attacker who knows it is there will try to hide from it, blind it, or turn it against the people who read it. Each attack below names the defence and the tests that prove it; for the attacks on the alert stream, the table and the stack, the last column says which removal of the defence was tried, and made those tests fail (the code was restored afterwards).',
    '',
    'Written by `npx tsx scripts/write-security.ts`, which first checks that every test named here exists.',
    '',
    '### Assets',
    '',
    ...ASSETS.map((a) => `- ${a}`),
    '',
    '### Actors',
    '',
    ...ACTORS.map((a) => `- ${a}`),
    '',
    '### Attacks on the alert stream, the table and the stack',
    '',
    ...table(ATTACKS),
    '',
    '### Blinding and evasion',
    '',
    ...table(BLINDING),
    '',
    '### Out of scope of this rule',
    '',
    ...OUT_OF_SCOPE.map((a) => `- ${a}`),
    '',
    '### What is not defended',
    '',
    ...NOT_DEFENDED.map((a) => `- ${a}`),
  ].join('\n');
}

/** Every named test must be declared in its file, exactly: a renamed test fails here. */
export async function checkTestRefs(root: URL = new URL('..', import.meta.url)): Promise<string[]> {
  const missing: string[] = [];
  const files = new Map<string, string>();
  for (const r of [...ATTACKS, ...BLINDING].flatMap((a) => a.tests)) {
    const text = files.get(r.file) ?? (await readFile(new URL(r.file, root), 'utf8').catch(() => ''));
    files.set(r.file, text);
    if (!text.includes(`'${r.name.replace(/'/g, "\\'")}'`)) missing.push(ref(r));
  }
  return missing;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const missing = await checkTestRefs();
  if (missing.length > 0) {
    console.error(`SECURITY.md not written: these tests do not exist:\n${missing.map((m) => `  ${m}`).join('\n')}`);
    process.exit(1);
  }
  await replaceSection(SECURITY_MD, SECTION, renderThreatModel(), TITLE);
  console.log(`SECURITY.md: ${SECTION} section written (${ATTACKS.length + BLINDING.length} attacks)`);
}
