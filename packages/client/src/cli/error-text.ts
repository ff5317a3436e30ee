import { PalisadeError } from '../errors.js';
import { withInvocation } from './invocation.js';

/** What to do next, for the codes where the CLI knows the command. */
const NEXT_STEP: Partial<Record<string, string>> = {
  session_invalid: 'Run `palisade-chat login`.', // the server's hint already says "Log in again"
  not_authenticated: 'Run `palisade-chat login` again.',
  step_up_required: 'Run `palisade-chat step-up`, then retry.',
  weak_password: 'Try a passphrase of four or more unrelated words.',
  invalid_device_key: 'Run `palisade-chat devices reset` (it keeps the old key file), then `palisade-chat login`.',
  payload_too_large: 'Send it in smaller parts.',
};

/** Ends a sentence with one full stop (server messages may already end with one). */
const sentence = (s: string) => (/[.!?]$/.test(s.trim()) ? s.trim() : `${s.trim()}.`);

/** The field issues of a validation error (the server's `details`), e.g. `name: at most 128 characters`. */
function fieldIssues(details: unknown): string[] {
  if (!Array.isArray(details)) return [];
  return (details as { path?: unknown; message?: unknown }[])
    .filter((d) => typeof d.path === 'string' && typeof d.message === 'string')
    .map((d) => `${String(d.path).replace(/^(body|query|params)\.?/, '') || 'request'}: ${String(d.message)}`);
}

/**
 * One clear line for a server error: its code, its message, the fields a validation error names (the
 * server's `details`, e.g. `body.name: at most 128 characters`; they replace a bare `invalid body`),
 * and the next step where known. Commands it names are the ones the person can run (see invocation.ts).
 */
export function describeError(e: PalisadeError): string {
  const fields = fieldIssues(e.details);
  const generic = /^invalid (body|query|params)\.?$/.test(e.message.trim());
  const parts = [fields.length > 0 && generic ? `${e.code}:` : `${e.code}: ${sentence(e.message)}`];
  if (fields.length > 0) parts.push(sentence(fields.slice(0, 5).join('; ')));
  const next = NEXT_STEP[e.code];
  if (next) parts.push(next);
  return withInvocation(parts.join(' '));
}
