// The detection this service runs, as data. Checked against detectionRuleSchema by the tests.

import type { DetectionRule } from './detection-rule.js';

export const unusualLinuxUserImdsRule = {
  id: '6f0f2b9e-3c1d-4e7a-9a55-1c2d7e0b9a41',
  name: 'Unusual Linux User Calling the Metadata Service',
  version: 1,
  description:
    'A Linux user who rarely or never calls the cloud instance metadata service called it. Reading the metadata ' +
    'service is the first step of many cloud credential thefts: the service hands out the instance role\'s temporary credentials.',
  severity: 'low',
  risk_score: 21,
  reference_rule_id: '1faec04b-d902-4f89-8aff-92cd9043c16f',
  references: [
    'https://attack.mitre.org/techniques/T1552/005/',
    'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html',
  ],
  false_positives: [
    'A new administrative script or automation that reads instance metadata.',
    'Backup and monitoring tools run by a dedicated user for the first time.',
    'Cron jobs that run weekly or monthly and so fall outside recent memory.',
    'Test environments and temporary accounts.',
  ],
  threat: [
    {
      framework: 'MITRE ATT&CK',
      tactic: { id: 'TA0006', name: 'Credential Access', reference: 'https://attack.mitre.org/tactics/TA0006/' },
      technique: [
        {
          id: 'T1552',
          name: 'Unsecured Credentials',
          reference: 'https://attack.mitre.org/techniques/T1552/',
          subtechnique: [
            { id: 'T1552.005', name: 'Cloud Instance Metadata API', reference: 'https://attack.mitre.org/techniques/T1552/005/' },
          ],
        },
      ],
    },
  ],
  note: [
    '## Triage and analysis',
    '',
    '### Investigating Unusual Linux User Calling the Metadata Service',
    '',
    '1. Identify the user and the process that called the metadata service (see the evidence): is this user expected to read instance metadata or credentials?',
    '2. Look at the command line: a request to `/latest/meta-data/iam/security-credentials/`, `/latest/api/token`, `/computeMetadata/v1/instance/service-accounts/` or `/v2/credentials/` reads credentials.',
    '3. Review what else the user did on the host in the same window (the Logs Insights link): new processes, downloads, outbound connections.',
    '4. Check CloudTrail for API calls made with the instance role\'s credentials from outside this instance after the alert time.',
    '5. If the access is legitimate (a new agent, backup or monitoring tool, cron job), add an exception with a reason and an expiry.',
    '',
    '### Response and remediation',
    '',
    '- Isolate the host if the access is not explained; rotate the instance role by stopping the instance or revoking its sessions.',
    '- Require IMDSv2 (hop limit 1) and restrict metadata access with host firewall rules to the users that need it.',
  ].join('\n'),
} as const satisfies DetectionRule;
