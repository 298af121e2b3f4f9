// alert document --> (message) --> AlertSink: body, subject and filter-policy attributes

import type { DetectionRule } from '../detections/detection-rule.js';
import type { OutgoingMessage } from '../ports.js';
import type { AlertDocument } from './alert-document.js';
import { renderAlertEmail, renderNoticeEmail } from './email-body.js';
import { overflowNoticeId } from './event-id.js';
import { jsonText, singleLine, subjectLine, subjectToken } from './sanitize.js';

const field = (doc: Record<string, unknown>, path: string): unknown =>
  path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), doc);

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined ? '' : String(v));

/** The SNS message for an alert, stamped with the run that publishes it. */
export function alertMessage(doc: AlertDocument, publishedAt: number): OutgoingMessage {
  const body = { '@timestamp': new Date(publishedAt).toISOString(), ...doc };
  const user = str(field(doc, 'user.name'));
  const host = str(field(doc, 'host.name'));
  const severity = str(field(doc, 'severity'));
  return {
    id: doc.event.id,
    subject: subjectLine(
      `[${subjectToken(severity, 10)}] Unusual Linux user ${subjectToken(user, 24)} called the metadata service on ${subjectToken(host, 28)}`,
    ),
    body: jsonText(body),
    emailText: renderAlertEmail(doc, body['@timestamp']),
    attributes: {
      kind: 'alert',
      severity,
      risk_score: str(field(doc, 'event.risk_score')),
      user: singleLine(user, 256),
      host: singleLine(host, 256),
    },
  };
}

export interface HeldBack {
  id: string;
  user: string;
  host: string;
  score: number;
  bucketStart: number;
}

/** One notice per capped run: how many anomalies wait, and which. */
export function overflowNotice(
  rule: DetectionRule,
  runTime: number,
  published: number,
  heldBack: readonly HeldBack[],
): OutgoingMessage {
  const id = overflowNoticeId(rule.id, runTime);
  const waiting = heldBack.slice(0, 50).map((h) => ({
    'event.id': h.id,
    'user.name': h.user,
    'host.name': h.host,
    'anomaly.score': h.score,
    'anomaly.bucket_start': new Date(h.bucketStart).toISOString(),
  }));
  const body = {
    '@timestamp': new Date(runTime).toISOString(),
    event: { kind: 'notice', id, action: 'alerts-held-back', type: ['info'], dataset: 'imds_watch.notice' },
    rule: { name: rule.name, id: rule.id, version: String(rule.version) },
    message: `${heldBack.length} anomalies were held back by the per-run cap after ${published} alerts; later runs publish them while they are inside their look-back.`,
    notice: {
      published,
      held_back: heldBack.length,
      hosts: [...new Set(heldBack.map((h) => h.host))].sort(),
      waiting,
      waiting_truncated: heldBack.length > waiting.length,
    },
  };
  return {
    id,
    subject: subjectLine(`[notice] imds-watch held back ${heldBack.length} alerts (cap reached)`),
    body: jsonText(body),
    emailText: renderNoticeEmail(`imds-watch held back ${heldBack.length} alerts (cap reached)`, body.message, {
      published: published,
      'held back': heldBack.length,
      hosts: body.notice.hosts,
      waiting: waiting.map((w) => `${w['user.name']} on ${w['host.name']} (score ${w['anomaly.score']}, ${w['anomaly.bucket_start']})`),
    }),
    attributes: { kind: 'overflow-notice', severity: 'info', risk_score: '0', user: '-', host: '-' },
  };
}

const HEALTH_TITLES: Record<string, string> = {
  'no-telemetry': 'no telemetry read',
  'missing-log-groups': 'log groups missing',
  'time-budget': 'runs past their time budget',
};

/** A health notice: a condition that stops the detector from seeing everything, opened or cleared. */
export function healthNoticeMessage(
  rule: DetectionRule,
  runTime: number,
  notice: { id: string; condition: string; status: 'open' | 'cleared'; since: number; detail: string },
): OutgoingMessage {
  const title = `imds-watch health: ${HEALTH_TITLES[notice.condition] ?? notice.condition} (${notice.status})`;
  const body = {
    '@timestamp': new Date(runTime).toISOString(),
    event: { kind: 'state', id: notice.id, action: `health-${notice.status}`, type: ['info'], dataset: 'imds_watch.health' },
    rule: { name: rule.name, id: rule.id, version: String(rule.version) },
    message: notice.status === 'open' ? `The detector cannot see everything: ${notice.detail}.` : `Resolved: ${notice.detail}.`,
    health: { condition: notice.condition, status: notice.status, since: new Date(notice.since).toISOString(), detail: notice.detail },
  };
  return {
    id: notice.id,
    subject: subjectLine(`[health] ${title}`),
    body: jsonText(body),
    emailText: renderNoticeEmail(title, body.message, body.health),
    attributes: { kind: 'health-notice', severity: notice.status === 'open' ? 'medium' : 'info', risk_score: '0', user: '-', host: '-' },
  };
}
