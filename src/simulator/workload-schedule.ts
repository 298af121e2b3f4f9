// WorkloadSpec --> (workload schedule) --> the runs of one metadata caller, in time order
//
// Pure and seeded: the simulator renders these runs into syscalls, and the ground truth and the
// noise rate are computed from the very same runs, so they agree with the output to the millisecond.
// Only timing and the kind of each call live here; processes, pids and rendering are the simulator's.

import { derivePrng, type Prng } from './prng.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A scale fleet's metadata callers (and the one-off runs some scenarios need). */
export type WorkloadKind =
  | 'ssm-agent'
  | 'cloudwatch-agent'
  | 'monitoring-agent'
  | 'sdk-refresh'
  | 'human-cli'
  | 'weekly-job'
  | 'ecs-tasks'
  | 'one-off-script';

export interface WorkloadSpec {
  kind: WorkloadKind;
  /** The account the caller runs as (its name in /etc/passwd). */
  user: string;
  uid: number;
  /** No run before this time, ms since the epoch (a rollout, a deployment, a one-off's moment). Default: the start. */
  from?: number;
  /** A benign rarity: its ground-truth label (unique in the spec) and scenario name. */
  rarity?: { label: string; kind: string };
}

/** How often each caller calls (the "realistic cadences"). */
export const SCALE_CADENCE = {
  /** root: ssm-agent-worker every ~5 minutes, amazon-ssm-agent joining on a quarter of the ticks. */
  ssmIntervalMs: 5 * MINUTE,
  ssmCoreAgentShare: 0.25,
  /** cwagent: the CloudWatch agent every ~10 minutes. */
  cwagentIntervalMs: 10 * MINUTE,
  /** A monitoring agent (dd-agent style) refreshing host metadata every ~15 minutes. */
  monitoringIntervalMs: 15 * MINUTE,
  /** An application SDK: hourly credential refresh, IMDSv2 token PUT + credentials GET. */
  sdkIntervalMs: HOUR,
  /** A person's AWS CLI: 1 to 3 runs on working days (Monday to Friday) between 08:00 and 18:00 UTC. */
  cliRunsPerWorkingDay: { min: 1, max: 3 },
  cliHoursUtc: { first: 8, last: 18 },
  /** A weekly cron job: Sunday between 23:00 and 23:30 UTC. */
  weeklyJobDay: 0,
  weeklyJobHourUtc: 23,
  /** Short-lived ECS tasks: one starts every ~20 minutes, lives 5 to 60 minutes. */
  ecsTaskMeanGapMs: 20 * MINUTE,
  ecsTaskLifetimeMs: { min: 5 * MINUTE, max: 60 * MINUTE },
  /** Share of tasks that reach IMDS itself (host networking) instead of the task-credentials endpoint. */
  ecsTaskImdsShare: 0.2,
  /** Share of tasks that refresh their credentials once more before they stop. */
  ecsTaskSecondCallShare: 0.3,
} as const;

export type ScheduleDestination = 'imds4' | 'imds6' | 'ecs' | 'gcp' | 's3' | 'dns';

/**
 * One syscall of a run. `exec` starts the run's next process (child of the previous one, else of the
 * workload's parent); `connect` is made by the last process started in the run, else by the workload's
 * daemon (`alt`: its second daemon, the SSM core agent).
 */
export interface ScheduledCall {
  at: number;
  action: 'exec' | 'connect';
  dest?: ScheduleDestination;
  alt?: true;
  /** A call the detector sees as metadata traffic (a metadata connect, or a metadata URL on the command line). */
  metadata: boolean;
}

export interface ScheduledRun {
  start: number;
  calls: ScheduledCall[];
}

const connect = (at: number, dest: ScheduleDestination, metadata: boolean, alt?: true): ScheduledCall =>
  alt ? { at, action: 'connect', dest, alt, metadata } : { at, action: 'connect', dest, metadata };
const exec = (at: number, metadata: boolean): ScheduledCall => ({ at, action: 'exec', metadata });

/** Start of the UTC day of `t`. */
const dayOf = (t: number): number => Math.floor(t / DAY) * DAY;

/** A periodic caller: runs every `interval` with a little jitter, from a random phase. */
function* periodic(p: Prng, from: number, end: number, interval: number, jitterSd: number, run: (t: number) => ScheduledCall[]): Generator<ScheduledRun> {
  let t = Math.round(from + p.range(0, interval));
  while (t < end) {
    yield { start: t, calls: run(t) };
    t = Math.round(t + Math.max(SECOND, interval + p.normal(jitterSd)));
  }
}

/** Times of the runs on one day, sorted, or none. */
function* daily(p: Prng, from: number, end: number, timesOfDay: (day: number) => number[]): Generator<number> {
  for (let day = dayOf(from); day < end; day += DAY) {
    for (const t of timesOfDay(day).sort((a, b) => a - b)) if (t >= from && t < end) yield t;
  }
}

/**
 * The runs of workload number `index` on `host`, in time order, in [from, end). Deterministic in
 * (seed, host, index, workload); lazily generated so a long period costs no memory.
 */
export function* workloadRuns(seed: number, host: string, index: number, w: WorkloadSpec, start: number, end: number): Generator<ScheduledRun> {
  const p = derivePrng(seed, 'workload', host, index, w.kind, w.user);
  const from = Math.max(start, w.from ?? start);
  const C = SCALE_CADENCE;
  switch (w.kind) {
    case 'ssm-agent':
      yield* periodic(p, from, end, C.ssmIntervalMs, 3 * SECOND, (t) => {
        const calls = [connect(t, 'imds4', true)];
        if (p.chance(C.ssmCoreAgentShare)) calls.push(connect(t + p.int(0, 800), 'imds4', true, true));
        return calls;
      });
      return;
    case 'cloudwatch-agent':
      yield* periodic(p, from, end, C.cwagentIntervalMs, 2 * SECOND, (t) => [connect(t, 'imds4', true)]);
      return;
    case 'monitoring-agent':
      yield* periodic(p, from, end, C.monitoringIntervalMs, 5 * SECOND, (t) => [connect(t, 'imds4', true), connect(t + p.int(2, 50), 'imds4', true)]);
      return;
    case 'sdk-refresh':
      yield* periodic(p, from, end, C.sdkIntervalMs, 45 * SECOND, (t) => [connect(t, 'imds4', true), connect(t + p.int(3, 40), 'imds4', true)]);
      return;
    case 'human-cli': {
      const span = (C.cliHoursUtc.last - C.cliHoursUtc.first) * HOUR;
      const times = daily(p, from, end, (day) => {
        const weekday = new Date(day).getUTCDay();
        if (weekday === 0 || weekday === 6) return [];
        const n = p.int(C.cliRunsPerWorkingDay.min, C.cliRunsPerWorkingDay.max);
        return Array.from({ length: n }, () => day + C.cliHoursUtc.first * HOUR + Math.floor(p.next() * span));
      });
      for (const t of times) {
        // `aws ...`: exec, IMDSv2 token PUT + credentials GET, then the AWS API.
        const c1 = t + p.int(180, 450);
        const c2 = c1 + p.int(4, 30);
        yield { start: t, calls: [exec(t, false), connect(c1, 'imds4', true), connect(c2, 'imds4', true), connect(c2 + p.int(60, 250), 's3', false)] };
      }
      return;
    }
    case 'weekly-job': {
      const times = daily(p, from, end, (day) =>
        new Date(day).getUTCDay() === C.weeklyJobDay ? [day + C.weeklyJobHourUtc * HOUR + p.int(0, 30 * MINUTE)] : [],
      );
      for (const t of times) {
        // cron's /bin/sh -c backup.sh, then `aws s3 sync` with its two IMDS connects and the upload.
        const a = t + p.int(50, 400);
        const c1 = a + p.int(150, 400);
        const c2 = c1 + p.int(4, 30);
        yield { start: t, calls: [exec(t, false), exec(a, false), connect(c1, 'imds4', true), connect(c2, 'imds4', true), connect(c2 + p.int(60, 250), 's3', false)] };
      }
      return;
    }
    case 'ecs-tasks': {
      let t = Math.round(from + p.exponential(C.ecsTaskMeanGapMs));
      while (t < end) {
        const lifetime = p.int(C.ecsTaskLifetimeMs.min, C.ecsTaskLifetimeMs.max);
        const dest: ScheduleDestination = p.chance(C.ecsTaskImdsShare) ? 'imds4' : 'ecs';
        const first = t + p.int(800, 3 * SECOND);
        const calls = [exec(t, false), connect(first, dest, true)];
        if (p.chance(C.ecsTaskSecondCallShare)) calls.push(connect(first + p.int(MINUTE, lifetime), dest, true));
        yield { start: t, calls };
        t = Math.round(t + Math.max(SECOND, p.exponential(C.ecsTaskMeanGapMs)));
      }
      return;
    }
    case 'one-off-script': {
      // `curl http://169.254.169.254/latest/meta-data/instance-id`: the URL is on the command line.
      const t = Math.round(from);
      if (t < end) yield { start: t, calls: [exec(t, true), connect(t + p.int(3, 12), 'imds4', true)] };
      return;
    }
    default: {
      const never: never = w.kind;
      throw new RangeError(`unknown workload kind ${String(never)}`);
    }
  }
}

/** CloudWatch events per syscall: raw auditd writes SYSCALL, EXECVE, CWD, 2 PATH, PROCTITLE, EOE for an exec. */
export function linesPerCall(action: ScheduledCall['action'], auditd: boolean): number {
  if (!auditd) return 1;
  return action === 'exec' ? 7 : 4;
}
