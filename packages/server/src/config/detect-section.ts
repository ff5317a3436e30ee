import { z } from 'zod';

/**
 * The detection rule ids (detect/engine/rules.ts; a test there checks both lists agree). Listed here so
 * a misspelt override is refused at start instead of silently changing nothing.
 */
export const DETECT_RULE_IDS = [
  'auth.brute_force.account',
  'auth.brute_force.address',
  'auth.credential_stuffing',
  'auth.password_spraying',
  'data.offhours_bulk_read',
  'session.device_mismatch',
  'session.token_replay',
  'privilege.escalation_attempts',
  'privilege.offhours_grant',
  'service_account.misuse',
  'org.mass_deletion',
  'org.mass_membership_change',
  'org.connection_spike',
  'org.new_device_spike',
] as const;

/** One rule's overrides: any field left out keeps the rule's built-in value (detect/engine/rules.ts). */
const DetectRuleOverride = z.strictObject({
  enabled: z.boolean().optional(),
  /** The count, distinct-value count or volume at which the rule fires. */
  threshold: z.number().positive().optional(),
  /** The sliding window the rule counts over. */
  windowSeconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 86_400)
    .optional(),
  severity: z.enum(['low', 'medium', 'high', 'critical']).optional(),
});

/** The detection engine: on/off, the baselines' learning period and per-rule overrides keyed by rule id. */
export const DetectSection = z.strictObject({
  enabled: z.boolean().default(true),
  /** Days of history a user's (or the organisation's) baseline needs before its rules may fire. */
  learningDays: z.number().min(0).max(365).default(14),
  /** Seconds between periodic saves of the baselines (the engine also saves at stop). */
  saveEverySeconds: z.number().int().min(5).max(3600).default(60),
  rules: z.partialRecord(z.enum(DETECT_RULE_IDS), DetectRuleOverride).default({}),
});
