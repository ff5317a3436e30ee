import { describe, expect, it } from 'vitest';
import { invocationName, withInvocation } from './invocation.js';

describe('the invocation hints name', () => {
  it('follows how npm started the CLI', () => {
    expect(invocationName({})).toBe('palisade-chat');
    expect(invocationName({ npm_command: 'exec', npm_lifecycle_event: 'npx' })).toBe('npx palisade-chat');
    expect(invocationName({ npm_command: 'run-script', npm_lifecycle_event: 'chat' })).toBe('npm run chat --');
    expect(invocationName({ npm_command: 'run-script', npm_lifecycle_event: 'x; rm -rf /' })).toBe('palisade-chat');
  });

  it('rewrites the commands in a hint, not the error prefix or a device name', () => {
    const env = { npm_command: 'exec' };
    expect(withInvocation('not logged in: run `palisade-chat login`.', env)).toBe(
      'not logged in: run `npx palisade-chat login`.',
    );
    expect(withInvocation('palisade-chat: use palisade-chat sso (palisade-chat step-up)', env)).toBe(
      'palisade-chat: use npx palisade-chat sso (npx palisade-chat step-up)',
    );
    expect(withInvocation('palisade-chat on laptop', env)).toBe('palisade-chat on laptop');
    expect(withInvocation('run `palisade-chat login`', {})).toBe('run `palisade-chat login`');
    expect(withInvocation(withInvocation('run `palisade-chat login`', env), env)).toBe('run `npx palisade-chat login`');
  });
});
