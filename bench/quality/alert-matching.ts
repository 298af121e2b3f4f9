// alerts (imds-watch's or a baseline's) + ground-truth labels --> (match) --> which alert hit which label
//
// An alert is a true positive when a malicious label has the same user, one of the alert's hosts,
// and its [at, until] overlaps the alert's bucket. Everything else is a false alert: explainable
// when it hits a benign-rarity label (a new service account, an admin's one-off script), else an
// alert on unlabelled normal activity. Pure.

/** One ground-truth label (the simulator's GroundTruthLabel has this shape, and more). */
export interface QualityLabel {
  label: string;
  malicious: boolean;
  kind: string;
  host: string;
  user: string;
  /** ms: first metadata call of the scenario. */
  at: number;
  /** ms: last metadata call of the scenario. */
  until: number;
}

/** One published alert, from imds-watch's output or a baseline. */
export interface QualityAlert {
  user: string;
  /** Every host of the (bucket, user): the main host first is not required. */
  hosts: readonly string[];
  bucketStart: number;
  /** ms: the run that published it (`@timestamp` of the SNS message). */
  publishedAt: number;
  score: number;
}

export type AlertVerdict = 'true-positive' | 'benign-rarity' | 'unlabelled';

export interface MatchedAlert {
  alert: QualityAlert;
  verdict: AlertVerdict;
  /** Labels it overlaps: malicious ones for a true positive, benign ones for a benign rarity. */
  labels: string[];
}

export interface LabelDetection {
  label: QualityLabel;
  /** Earliest publishing time of an alert that matched it, if any. */
  alertedAt?: number;
}

export interface MatchResult {
  alerts: MatchedAlert[];
  /** One entry per malicious label. */
  detections: LabelDetection[];
}

/** Whether the label's [at, until] overlaps the alert's bucket and names its user and one of its hosts. */
export function alertHitsLabel(alert: QualityAlert, label: QualityLabel, bucketMs: number): boolean {
  return (
    alert.user === label.user &&
    alert.hosts.includes(label.host) &&
    label.at < alert.bucketStart + bucketMs &&
    label.until >= alert.bucketStart
  );
}

export function matchAlerts(alerts: readonly QualityAlert[], labels: readonly QualityLabel[], bucketMs: number): MatchResult {
  const firstAlert = new Map<string, number>();
  const matched = alerts.map((alert): MatchedAlert => {
    const hits = labels.filter((l) => alertHitsLabel(alert, l, bucketMs));
    const malicious = hits.filter((l) => l.malicious);
    for (const l of malicious) firstAlert.set(l.label, Math.min(firstAlert.get(l.label) ?? Infinity, alert.publishedAt));
    if (malicious.length > 0) return { alert, verdict: 'true-positive', labels: malicious.map((l) => l.label) };
    if (hits.length > 0) return { alert, verdict: 'benign-rarity', labels: hits.map((l) => l.label) };
    return { alert, verdict: 'unlabelled', labels: [] };
  });
  const detections = labels
    .filter((l) => l.malicious)
    .map((label): LabelDetection => {
      const at = firstAlert.get(label.label);
      return at === undefined ? { label } : { label, alertedAt: at };
    });
  return { alerts: matched, detections };
}
