// Evidence carries command lines; an IMDSv2 token or a credential in them must not leave in an alert.

const REDACTED = '[REDACTED]';

/**
 * Headers whose value is a secret: a whole argument (`X-aws-ec2-metadata-token: AQAE…`), quoted
 * inside a command line (`-H "Authorization: Bearer …"`: the value runs to the closing quote) or bare
 * (`-H Authorization:abc`: to the next space). `X-aws-ec2-metadata-token-ttl-seconds` is not matched:
 * the name must be followed by the colon.
 */
const HEADER_NAME = 'x-aws-ec2-metadata-token|authorization|proxy-authorization|x-amz-security-token|x-api-key|cookie';
const SECRET_HEADER_ARG = new RegExp(`^(\\s*(?:${HEADER_NAME})\\s*:\\s*)\\S.*$`, 'is');
const SECRET_HEADER_QUOTED = new RegExp(`(["'])(\\s*(?:${HEADER_NAME})\\s*:\\s*)(?=[^\\s"'])[^"'\\r\\n]*`, 'gi');
const SECRET_HEADER_BARE = new RegExp(`\\b((?:${HEADER_NAME})\\s*:\\s*)(?=[^\\s"'])[^\\s"']+`, 'gi');
/** `name=value` and `name: value`, also in JSON or Python (`"SecretAccessKey": "…"`) and URL queries (`?X-Amz-Security-Token=…`). */
const SECRET_ASSIGNMENT =
  /\b(aws_secret_access_key|aws_session_token|aws_security_token|secretaccesskey|sessiontoken|password|passwd|token|x-amz-signature)(["']?\s*[=:]\s*)(?![`$])("[^"]*"|'[^']*'|[^\s&"',}]+)/gi;
/** Options whose next word is the secret: `--password hunter2`, `aws configure set aws_secret_access_key …`. */
const SECRET_OPTION_NAME = '--?(?:password|passwd|pass|token|secret|secret-access-key|session-token|access-token|auth-token|api-key)|aws_secret_access_key|aws_session_token|aws_security_token';
const SECRET_OPTION = new RegExp(`(^|[\\s"'])(${SECRET_OPTION_NAME})(\\s+)(?![\`$])("[^"]*"|'[^']*'|[^\\s"']+)`, 'gi');
const SECRET_OPTION_ALONE = new RegExp(`^\\s*(?:${SECRET_OPTION_NAME})\\s*$`, 'i');
const BEARER = /\b(bearer\s+)[A-Za-z0-9._~+/=-]+/gi;
const ACCESS_KEY_ID = /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g;
/** An IMDSv2 session token on its own (they start with AQAE), e.g. after a shell expanded `$TOKEN`. */
const IMDS_TOKEN = /\bAQAE[A-Za-z0-9+/_-]{16,}={0,2}/g;
/** A password in a URL: `http://user:secret@host/`. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:)[^\s/@]+(@)/gi;

/** Redacts secrets in one argument or command line. */
export function redactSecrets(text: string): string {
  return text
    .replace(SECRET_HEADER_ARG, `$1${REDACTED}`)
    .replace(SECRET_HEADER_QUOTED, `$1$2${REDACTED}`)
    .replace(BEARER, `$1${REDACTED}`)
    .replace(SECRET_HEADER_BARE, `$1${REDACTED}`)
    .replace(SECRET_ASSIGNMENT, (all, name: string, sep: string) => (/ttl/i.test(all) ? all : `${name}${sep}${REDACTED}`))
    .replace(SECRET_OPTION, (all, before: string, name: string, space: string) => `${before}${name}${space}${REDACTED}`)
    .replace(URL_PASSWORD, `$1${REDACTED}$2`)
    .replace(ACCESS_KEY_ID, REDACTED)
    .replace(IMDS_TOKEN, REDACTED);
}

/** Redacts each argument, and the argument after an option such as `--password` (`["--password", "hunter2"]`). */
export function redactArgs(args: readonly string[] | undefined): string[] | undefined {
  return args?.map((arg, i) => (i > 0 && SECRET_OPTION_ALONE.test(args[i - 1] ?? '') ? REDACTED : redactSecrets(arg)));
}
