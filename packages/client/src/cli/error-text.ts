import { PalisadeError } from '../errors.js';

/** What to do next, for the codes where the CLI knows the command. */
const NEXT_STEP: Partial<Record<string, string>> = {
  session_invalid: 'Run `palisade-chat login` again.',
  not_authenticated: 'Run `palisade-chat login` again.',
  step_up_required: 'Run `palisade-chat step-up`, then retry.',
  weak_password: 'Try a passphrase of four or more unrelated words.',
  invalid_device_key: 'Run `palisade-chat devices reset` (it keeps the old key file), then `palisade-chat login`.',
};

/** Ends a sentence with one full stop (server messages may already end with one). */
const sentence = (s: string) => (/[.!?]$/.test(s.trim()) ? s.trim() : `${s.trim()}.`);

/**
 * One clear line for a server error: its code, its message, the fields a validation error names (the
 * server's `details`, e.g. `body.name: at most 128 characters`), and the next step where known.
 */
export function describeError(e: PalisadeError): string {
  const parts = [`${e.code}: ${sentence(e.message)}`];
  if (Array.isArray(e.details)) {
    const fields = (e.details as { path?: unknown; message?: unknown }[])
      .filter((d) => typeof d.path === 'string' && typeof d.message === 'string')
      .map((d) => `${String(d.path).replace(/^(body|query|params)\./, '')}: ${String(d.message)}`);
    if (fields.length > 0) parts.push(sentence(fields.slice(0, 5).join('; ')));
  }
  const next = NEXT_STEP[e.code];
  if (next) parts.push(next);
  return parts.join(' ');
}
