// alert --> (investigation) --> a CloudWatch Logs Insights query and console link for the window

/** JSURL string escaping, as the CloudWatch console writes its query details. */
function jsurlString(value: string): string {
  let out = "'";
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (/[A-Za-z0-9_.-]/.test(ch)) out += ch;
    else if (code < 0x100) out += `*${code.toString(16).padStart(2, '0')}`;
    else out += `**${code.toString(16).padStart(4, '0')}`;
  }
  return out;
}

export interface InsightsQuery {
  region: string;
  logGroups: readonly string[];
  start: number;
  end: number;
  query: string;
}

/** Every event of the hosts' log streams in the window: what else the user did around the call. */
export function investigationQuery(streams: readonly string[]): string {
  const list = streams.map((s) => JSON.stringify(s)).join(', ');
  return ['fields @timestamp, @logStream, @message', `| filter @logStream in [${list}]`, '| sort @timestamp asc', '| limit 1000'].join(
    '\n',
  );
}

export function logsInsightsUrl(q: InsightsQuery): string {
  const detail =
    `~(end~${jsurlString(new Date(q.end).toISOString())}~start~${jsurlString(new Date(q.start).toISOString())}` +
    `~timeType~'ABSOLUTE~tz~'UTC~editorString~${jsurlString(q.query)}` +
    `~source~(${q.logGroups.map((g) => `~${jsurlString(g)}`).join('')}))`;
  return `https://${q.region}.console.aws.amazon.com/cloudwatch/home?region=${q.region}#logsV2:logs-insights$3FqueryDetail$3D${detail}`;
}
