// AttackSpec --> (attack timeline) --> when each syscall of an injected attack happens
//
// Pure: the simulator renders these steps, and the ground truth reads the first and last
// metadata call from the same steps. The draws' order is the simulator's original one, so
// the README sample stays byte-identical.

import type { Prng } from './prng.js';
import type { ScheduleDestination } from './workload-schedule.js';

export type AttackKind = 'curl-credentials' | 'python-ipv6' | 'wget-gcp' | 'curl-ecs-credentials';

export interface AttackStep {
  at: number;
  action: 'exec' | 'connect';
  dest?: ScheduleDestination;
  /** Which of the attack's processes: 0 the first one started, 1 the second. */
  proc: 0 | 1;
  metadata: boolean;
}

/** The steps of an attack starting at `t0`; `p` is the attack's own generator. */
export function attackSteps(kind: AttackKind, t0: number, p: Prng): AttackStep[] {
  switch (kind) {
    case 'curl-credentials': {
      // IMDSv2: curl PUT for a token, then curl GET of the role's credentials.
      const c1 = t0 + p.int(3, 12);
      const t1 = c1 + p.int(30, 400);
      return [
        { at: t0, action: 'exec', proc: 0, metadata: true },
        { at: c1, action: 'connect', dest: 'imds4', proc: 0, metadata: true },
        { at: t1, action: 'exec', proc: 1, metadata: true },
        { at: t1 + p.int(3, 12), action: 'connect', dest: 'imds4', proc: 1, metadata: true },
      ];
    }
    case 'python-ipv6':
      return [
        { at: t0, action: 'exec', proc: 0, metadata: true },
        { at: t0 + p.int(20, 60), action: 'connect', dest: 'imds6', proc: 0, metadata: true },
      ];
    case 'wget-gcp': {
      const dnsAt = t0 + p.int(2, 8);
      return [
        { at: t0, action: 'exec', proc: 0, metadata: true },
        { at: dnsAt, action: 'connect', dest: 'dns', proc: 0, metadata: false },
        { at: dnsAt + p.int(1, 20), action: 'connect', dest: 'gcp', proc: 0, metadata: true },
      ];
    }
    case 'curl-ecs-credentials':
      // From inside a task: curl 169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI.
      return [
        { at: t0, action: 'exec', proc: 0, metadata: true },
        { at: t0 + p.int(3, 12), action: 'connect', dest: 'ecs', proc: 0, metadata: true },
      ];
    default: {
      const never: never = kind;
      throw new RangeError(`unknown attack kind ${String(never)}`);
    }
  }
}
