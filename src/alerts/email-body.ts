// alert document --> (plain-text email) --> SNS MessageStructure json, `email` key
//
// Written for a responder reading a mail: what happened, who, where, the evidence, what to do.
// Every value that came from a host passes through singleLine: no line breaks, no control
// characters, so nothing in the data can forge a line (a "Subject:" or a fake instruction).

import { singleLine } from './sanitize.js';

/** The parts of an alert document the email reads. */
interface AlertView {
  '@timestamp'?: string;
  event: { id: string; risk_score?: number; start?: string; end?: string };
  severity?: string;
  rule?: { name?: string; id?: string };
  user?: { name?: string; id?: string };
  host?: { name?: string };
  related?: { hosts?: string[] };
  anomaly?: { score?: number; threshold?: number; bucket_start?: string; bucket_span?: string; calls?: number; explanation?: string };
  evidence?: {
    '@timestamp'?: string;
    host?: { name?: string };
    process?: { name?: string; executable?: string; pid?: number; args?: string[] };
    destination?: { endpoint?: string; port?: number; url?: string };
    log?: { group?: string; stream?: string };
    event_id?: string;
  }[];
  evidence_truncated?: number;
  investigation?: { steps?: string[]; logs_insights?: { url?: string; query?: string; start?: string; end?: string } };
}

const t = (value: unknown, max = 300): string => singleLine(value === undefined || value === null ? '-' : String(value), max);

export function renderAlertEmail(doc: Record<string, unknown>, publishedAt: string): string {
  const a = doc as unknown as AlertView;
  const user = t(a.user?.name, 64);
  const host = t(a.host?.name, 128);
  const lines: string[] = [
    `Unusual Linux user ${user} called the metadata service on ${host}`,
    '',
    'What happened',
    // Every line starts with the renderer's own words, never with a value from the host.
    `  The user ${user} called the cloud instance metadata service, which hands out the instance role's temporary credentials.`,
    `  This user rarely or never does: the first step of many cloud credential thefts (MITRE ATT&CK T1552.005).`,
    `  When: ${t(a.event.start)} to ${t(a.event.end)}, ${t(a.anomaly?.calls)} call(s), bucket of ${t(a.anomaly?.bucket_span)} from ${t(a.anomaly?.bucket_start)}`,
    `  Score: ${t(a.anomaly?.score)} (alerts at ${t(a.anomaly?.threshold)}). ${t(a.anomaly?.explanation, 600)}`,
    '',
    'Who and where',
    `  User: ${user}${a.user?.id === undefined ? '' : ` (uid ${t(a.user.id, 16)})`}`,
    `  Hosts: ${(a.related?.hosts ?? [host]).map((h) => t(h, 128)).join(', ')}`,
    '',
    `Evidence (${a.evidence?.length ?? 0} source event(s)${a.evidence_truncated ? `, ${a.evidence_truncated} more left out for size` : ''})`,
  ];
  for (const e of a.evidence ?? []) {
    const process = e.process?.executable ?? e.process?.name;
    lines.push(
      `  ${t(e['@timestamp'], 40)}  ${t(e.host?.name, 128)}  ${t(process, 200)}${e.process?.pid === undefined ? '' : ` (pid ${t(e.process.pid, 12)})`}` +
        ` -> ${t(e.destination?.url ?? e.destination?.endpoint, 300)}${e.destination?.port === undefined ? '' : ` port ${t(e.destination.port, 6)}`}`,
    );
    if (e.process?.args?.length) lines.push(`      command line: ${t(e.process.args.join(' '), 600)}`);
    lines.push(`      CloudWatch Logs: group ${t(e.log?.group, 200)}, stream ${t(e.log?.stream, 200)}, event ${t(e.event_id, 80)}`);
  }
  const steps = a.investigation?.steps ?? [];
  if (steps.length > 0) {
    lines.push('', 'Triage');
    steps.forEach((step, i) => lines.push(`  ${i + 1}. ${t(step, 600)}`));
  }
  const insights = a.investigation?.logs_insights;
  if (insights?.url) {
    lines.push('', `Everything on these hosts from ${t(insights.start, 40)} to ${t(insights.end, 40)} (CloudWatch Logs Insights):`, `  ${t(insights.url, 4000)}`);
  }
  lines.push(
    '',
    `Alert ${t(a.event.id, 80)} published ${t(publishedAt, 40)} by ${t(a.rule?.name, 120)} (${t(a.rule?.id, 60)}), severity ${t(a.severity, 16)}, risk score ${t(a.event.risk_score, 8)}.`,
    'The JSON document of this alert goes to every other subscription protocol.',
  );
  return lines.join('\n');
}

/** Notices (overflow, health) as text: their message and their facts, one per line. */
export function renderNoticeEmail(title: string, message: string, facts: Record<string, unknown>): string {
  const lines = [t(title, 200), '', t(message, 2000), ''];
  for (const [key, value] of Object.entries(facts)) lines.push(`  ${t(key, 60)}: ${t(Array.isArray(value) ? value.join(', ') : typeof value === 'object' ? JSON.stringify(value) : value, 2000)}`);
  return lines.join('\n');
}
