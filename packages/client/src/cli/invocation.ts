/**
 * How the person started palisade-chat, so every hint names a command that works for them:
 * `npx palisade-chat` under npx / npm exec, `npm run SCRIPT --` under npm run, else `palisade-chat`.
 * npm sets `npm_command` (`exec`, `run-script`) and `npm_lifecycle_event` (the script name).
 */
export function invocationName(env: NodeJS.ProcessEnv = process.env): string {
  const command = env.npm_command;
  if (command === 'exec') return 'npx palisade-chat';
  if (
    (command === 'run-script' || command === 'run') &&
    env.npm_lifecycle_event &&
    /^[\w:.-]+$/.test(env.npm_lifecycle_event)
  ) {
    return `npm run ${env.npm_lifecycle_event} --`;
  }
  return 'palisade-chat';
}

/**
 * Rewrites every `palisade-chat SUBCOMMAND` in a hint (ours or the server's) to the invocation the
 * person used. The `palisade-chat:` prefix of error lines and other words are left alone.
 */
export function withInvocation(text: string, env: NodeJS.ProcessEnv = process.env): string {
  const name = invocationName(env);
  if (name === 'palisade-chat') return text;
  // Idempotent: a name already rewritten (`npx palisade-chat`, `npm run chat -- ...`) is left alone.
  return text.replace(
    /(^|[\s`'"(])(?<!npx )palisade-chat(?= [a-z][a-z-]*)(?! on )/g,
    (_m, pre: string) => `${pre}${name}`,
  );
}
