import { readFileSync, statSync } from 'node:fs';
import { Secret } from '../core/index.js';

/**
 * Resolves a `secret://env/NAME` or `secret://file/PATH` reference into a Secret.
 * SECURITY: the value is never logged; errors name the reference, never the value.
 */
export function resolveSecret(ref: string, env: NodeJS.ProcessEnv): Secret<string> {
  if (ref.startsWith('secret://env/')) {
    const name = ref.slice('secret://env/'.length);
    const value = env[name];
    if (value === undefined || value === '') throw new Error(`${ref}: environment variable ${name} is not set`);
    return new Secret(value);
  }
  if (ref.startsWith('secret://file/')) {
    const path = ref.slice('secret://file/'.length);
    let text: string;
    try {
      const st = statSync(path);
      if ((st.mode & 0o077) !== 0) throw new Error(`${ref}: file is readable by group or others; chmod 600 it`);
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if (e instanceof Error && e.message.startsWith(ref)) throw e;
      throw new Error(`${ref}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    return new Secret(text.replace(/\r?\n$/, ''));
  }
  throw new Error(`${ref}: not a secret:// reference`);
}
