// serverless.yml custom.imdsWatch.logGroups (the logGroups parameter)
//   --> (this file, at package time) --> LOG_GROUPS and the logs:FilterLogEvents Resource list
//
// CloudFormation cannot turn a comma-separated parameter of arbitrary length into a list of ARNs
// (Fn::Split yields strings, and no intrinsic maps Fn::Sub over a list). The framework's variable
// resolution can: serverless.yml reads `${file(./infra/log-group-arns.cjs):arns}` and
// `${file(./infra/log-group-arns.cjs):names}`, which call the functions below with the resolved
// `logGroups` value. Nothing here calls AWS: the account, region and partition stay
// CloudFormation pseudo parameters (Fn::Join with Ref), so packaging needs no credentials.
//
// A name gives two ARNs, the group itself and the group with its streams:
//   /imds-watch/audit -> arn:<partition>:logs:<region>:<account>:log-group:/imds-watch/audit
//                        arn:<partition>:logs:<region>:<account>:log-group:/imds-watch/audit:*
// A prefix (a name ending in `*`) gives one ARN that matches every group it names, and their streams:
//   /fleet/ecs*       -> arn:<partition>:logs:<region>:<account>:log-group:/fleet/ecs*
'use strict';

/** CloudWatch Logs group names: 1-512 of a-z A-Z 0-9 _ - / . # (and here a trailing `*`). */
const LOG_GROUP_NAME = /^[A-Za-z0-9_\-/.#]{1,512}\*?$/;

/**
 * Splits and checks the comma-separated parameter; throws with the bad entry named.
 * @param {unknown} text
 * @returns {string[]} distinct names and prefixes, in the given order
 */
function parseLogGroups(text) {
  if (typeof text !== 'string') {
    throw new Error(`logGroups must be a comma-separated string, got ${JSON.stringify(text)}`);
  }
  const names = [...new Set(text.split(',').map((s) => s.trim()).filter((s) => s.length > 0))];
  if (names.length === 0) throw new Error('logGroups names no log group (example: /imds-watch/audit,/imds-watch/ecs)');
  for (const name of names) {
    if (!LOG_GROUP_NAME.test(name) || name === '*') {
      throw new Error(
        `logGroups: "${name}" is not a log group name or prefix (letters, digits, _ - / . #, optionally ending in *)`,
      );
    }
  }
  return names;
}

/** @param {string} resourceSuffix the part after `log-group:` */
const logGroupArn = (resourceSuffix) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':logs:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      ':log-group:',
      resourceSuffix,
    ],
  ],
});

/**
 * The IAM Resource list for logs:FilterLogEvents.
 * @param {string[]} names from parseLogGroups
 */
function logGroupArns(names) {
  return names.flatMap((name) => (name.endsWith('*') ? [logGroupArn(name)] : [logGroupArn(name), logGroupArn(`${name}:*`)]));
}

const configured = async (resolveVariable) => parseLogGroups(await resolveVariable('self:custom.imdsWatch.logGroups'));

module.exports = {
  /** `${file(./infra/log-group-arns.cjs):arns}`: the FilterLogEvents resources. */
  arns: async ({ resolveVariable }) => logGroupArns(await configured(resolveVariable)),
  /** `${file(./infra/log-group-arns.cjs):names}`: LOG_GROUPS, the same list, normalized. */
  names: async ({ resolveVariable }) => (await configured(resolveVariable)).join(','),
  parseLogGroups,
  logGroupArns,
};
