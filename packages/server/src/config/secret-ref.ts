import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Secret } from '../core/index.js';

const FILE = 'secret://file/';

/**
 * The file a `secret://file/PATH` reference names. PATH is absolute: `secret://file/etc/palisade/master`
 * is /etc/palisade/master (`secret://file//etc/palisade/master`, the older spelling, is the same file).
 * Only a PATH starting with `./` or `../` is relative, to the working directory of the process.
 */
export function secretFilePath(ref: string): string {
  const rest = ref.slice(FILE.length);
  if (rest.startsWith('./') || rest.startsWith('../')) return resolve(rest);
  return `/${rest.replace(/^\/+/, '')}`;
}

/**
 * Resolves a `secret://env/NAME` or `secret://file/PATH` reference into a Secret.
 * SECURITY: the value is never logged; errors name the reference (and the file tried), never the value.
 */
export function resolveSecret(ref: string, env: NodeJS.ProcessEnv): Secret<string> {
  if (ref.startsWith('secret://env/')) {
    const name = ref.slice('secret://env/'.length);
    const value = env[name];
    if (value === undefined || value === '') throw new Error(`${ref}: environment variable ${name} is not set`);
    return new Secret(value);
  }
  if (ref.startsWith(FILE)) {
    const path = secretFilePath(ref);
    let text: string;
    try {
      const st = statSync(path);
      if (!st.isFile()) throw new Error(`${ref}: ${path} is not a file`);
      // SECURITY: a secret others can read is refused, not used.
      if ((st.mode & 0o077) !== 0) throw new Error(`${ref}: ${path} is readable by group or others; chmod 600 it`);
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if (e instanceof Error && e.message.startsWith(ref)) throw e;
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      // Before, secret://file/x meant x in the working directory; say how to write that now.
      const rel = ref.slice(FILE.length);
      const hint =
        code === 'ENOENT' && !rel.startsWith('/') && existsSync(rel)
          ? `; for ${resolve(rel)} (relative to the working directory) write secret://file/./${rel}`
          : '';
      throw new Error(`${ref}: cannot read ${path} (${code})${hint}`);
    }
    if (text.trim() === '') throw new Error(`${ref}: ${path} is empty`);
    return new Secret(text.replace(/\r?\n$/, ''));
  }
  throw new Error(`${ref}: not a secret:// reference`);
}
