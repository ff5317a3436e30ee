import { z } from 'zod';

/** The response actions a playbook step can take (mirrors `ResponseActionKind` in detect/types.ts). */
export const RESPONSE_ACTIONS = [
  'throttle',
  'require_step_up',
  'lock_account',
  'revoke_sessions',
  'revoke_devices',
  'block_address',
  'block_network',
  'suspend_service_account',
] as const;

const Step = z.strictObject({
  action: z.enum(RESPONSE_ACTIONS),
  /** How long it lasts (block, throttle, lock, step-up, suspension); absent: until undone. */
  forSeconds: z
    .number()
    .int()
    .positive()
    .max(30 * 86_400)
    .optional(),
  requiresApproval: z.boolean().optional(),
});

const PlaybookOverride = z.strictObject({
  minSeverity: z.enum(['low', 'medium', 'high', 'critical']).optional(),
  /** An empty list turns the rule's automatic response off. */
  steps: z.array(Step).max(10),
});

/**
 * The `response` config section: automatic containment of findings (detect/response).
 * `playbooks` replaces the built-in playbook of a rule id; `requireApprovalFor` makes every step of
 * those action kinds wait for a security admin's approval; `dryRun` records what would be done and
 * does nothing; `neverBlock` lists addresses or prefixes no block may cover (trusted proxies, offices).
 */
export const ResponseSection = z.strictObject({
  enabled: z.boolean().default(true),
  dryRun: z.boolean().default(false),
  playbooks: z.record(z.string().regex(/^[a-z_]+(\.[a-z_]+)+$/), PlaybookOverride).default({}),
  requireApprovalFor: z.array(z.enum(RESPONSE_ACTIONS)).default([]),
  /** Off-hours bulk reads: hold the session revocation for approval (default false: apply at once). */
  offHoursApproval: z.boolean().default(false),
  neverBlock: z.array(z.string().min(1)).default([]),
  /** How often containments past their end are undone. */
  expirySweepSeconds: z.number().int().min(1).max(3600).default(15),
  /** How often each node reloads the address blocks (blocks set by other nodes). */
  blockRefreshSeconds: z.number().int().min(1).max(3600).default(10),
});

/** The parsed `response` section. */
export type ResponseConfig = z.infer<typeof ResponseSection>;
