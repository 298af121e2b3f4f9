import { describe, expect, it } from 'vitest';
import { unusualLinuxUserImdsRule } from '../../../src/detections/credential_access_unusual_linux_user_imds.js';
import { detectionRuleSchema, RISK_BANDS } from '../../../src/detections/detection-rule.js';

// Every detection this service runs, with the file name it lives in.
const RULES = [['credential_access_unusual_linux_user_imds', unusualLinuxUserImdsRule]] as const;

describe.each(RULES)('detection %s', (file, rule) => {
  it('passes the schema', () => {
    expect(() => detectionRuleSchema.parse(rule)).not.toThrow();
  });

  it('has a risk score inside its severity band', () => {
    const [low, high] = RISK_BANDS[rule.severity];
    expect(rule.risk_score).toBeGreaterThanOrEqual(low);
    expect(rule.risk_score).toBeLessThanOrEqual(high);
  });

  it('is named after its primary tactic', () => {
    const tactic = rule.threat[0]?.tactic.name.toLowerCase().replace(/ /g, '_');
    expect(file.startsWith(`${tactic}_`)).toBe(true);
  });

  it('nests each sub-technique under its technique', () => {
    for (const t of rule.threat.flatMap((x) => x.technique))
      for (const s of t.subtechnique) expect(s.id.startsWith(`${t.id}.`)).toBe(true);
  });

  it('has a triage section in its investigation guide', () => {
    expect(rule.note).toContain('## Triage and analysis');
  });

  it('matches the reference rule: low severity, risk 21, T1552.005', () => {
    expect(rule.severity).toBe('low');
    expect(rule.risk_score).toBe(21);
    expect(rule.threat[0]?.technique[0]?.subtechnique[0]?.id).toBe('T1552.005');
  });
});
