// Evidence carries command lines; an IMDSv2 token or a credential in them must not leave in an alert.

const REDACTED = '[REDACTED]';

/** Header or option names whose value is a secret. */
const SECRET_HEADER = /^(\s*(?:x-aws-ec2-metadata-token|authorization|x-amz-security-token|x-api-key|cookie)\s*:\s*)(.+)$/i;
const SECRET_ASSIGNMENT =
  /\b(aws_secret_access_key|aws_session_token|aws_security_token|secretaccesskey|sessiontoken|password|passwd|token)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&"']+)/gi;
const BEARER = /\b(bearer\s+)[A-Za-z0-9._~+/=-]+/gi;
const ACCESS_KEY_ID = /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g;

/** Redacts secrets in one argument or command line. */
export function redactSecrets(text: string): string {
  const header = SECRET_HEADER.exec(text);
  if (header && !/^x-aws-ec2-metadata-token-ttl-seconds/i.test(header[1]?.trim() ?? '')) return `${header[1]}${REDACTED}`;
  return text
    .replace(BEARER, `$1${REDACTED}`)
    .replace(SECRET_ASSIGNMENT, (all, name: string, sep: string) =>
      /ttl/i.test(all) ? all : `${name}${sep}${REDACTED}`,
    )
    .replace(ACCESS_KEY_ID, REDACTED);
}

export function redactArgs(args: readonly string[] | undefined): string[] | undefined {
  return args?.map(redactSecrets);
}
