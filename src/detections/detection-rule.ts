// The rule's metadata is data with a schema (as in Elastic's detection-rules), not code.

import { z } from 'zod';

export const severitySchema = z.enum(['low', 'medium', 'high', 'critical']);

/** Elastic's risk bands: a severity implies a risk score range. */
export const RISK_BANDS: Record<z.infer<typeof severitySchema>, readonly [number, number]> = {
  low: [0, 21],
  medium: [22, 47],
  high: [48, 73],
  critical: [74, 100],
};

const techniqueUrl = /^https:\/\/attack\.mitre\.org\/techniques\/T\d{4}\/(\d{3}\/)?$/;

export const detectionRuleSchema = z
  .object({
    id: z.uuid(),
    name: z.string().min(1),
    version: z.number().int().min(1),
    description: z.string().min(1),
    severity: severitySchema,
    risk_score: z.number().int().min(0).max(100),
    /** The Elastic rule this one is the serverless counterpart of. */
    reference_rule_id: z.uuid().optional(),
    references: z.array(z.url()),
    false_positives: z.array(z.string().min(1)),
    threat: z.array(
      z
        .object({
          framework: z.literal('MITRE ATT&CK'),
          tactic: z.object({ id: z.string().regex(/^TA\d{4}$/), name: z.string(), reference: z.url() }).strict(),
          technique: z.array(
            z
              .object({
                id: z.string().regex(/^T\d{4}$/),
                name: z.string(),
                reference: z.string().regex(techniqueUrl),
                subtechnique: z.array(
                  z.object({ id: z.string().regex(/^T\d{4}\.\d{3}$/), name: z.string(), reference: z.string().regex(techniqueUrl) }).strict(),
                ),
              })
              .strict(),
          ),
        })
        .strict(),
    ),
    /** Investigation guide, Markdown. */
    note: z.string().min(1),
  })
  .strict();

export type DetectionRule = z.infer<typeof detectionRuleSchema>;
