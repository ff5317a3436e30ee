import type { Command } from 'commander';
import type { ConversationView } from '@palisade/protocol';
import type { Api } from '../api.js';
import { run, savedClient } from './connect.js';
import { withInvocation } from './invocation.js';
import { liveView } from './live-view.js';
import { openSecureSession, whoIs } from './secure-session.js';
import { confirmDestructive, die } from './prompt.js';

/** One line on stdout; commands it names are the ones the person can run. */
const out = (line: string): void => void process.stdout.write(`${withInvocation(line)}\n`);

/** How a conversation is shown: `#name` for a group, `@peer` for a direct chat. */
export function label(c: ConversationView, me: string): string {
  return c.kind === 'direct' ? `@${c.members.find((m) => m.userId !== me)?.username ?? '?'}` : `#${c.name ?? '?'}`;
}

/**
 * Finds a conversation by id, or by group name (`project-x` or `#project-x`) when that name is unique
 * among the user's conversations; with `direct`, also `@user` or `user` for a direct chat that exists.
 * Duplicates are refused, listing the ids. Undefined when nothing matches.
 */
export function findConversation(
  convs: ConversationView[],
  target: string,
  me: string,
  direct = false,
): ConversationView | undefined {
  const byId = convs.find((c) => c.id === target);
  if (byId) return byId;
  const name = target.replace(/^[#@]/, '');
  const groups = target.startsWith('@') ? [] : convs.filter((c) => c.kind === 'group' && c.name === name);
  const directs =
    direct && !target.startsWith('#') ? convs.filter((c) => c.kind === 'direct' && label(c, me) === `@${name}`) : [];
  const matches = groups.length > 0 ? groups : directs;
  if (matches.length > 1) {
    die(
      `${matches.length} of your conversations are named ${name}; give the id:\n${matches.map((c) => `  ${c.id}  ${label(c, me)}  ${c.members.length} members${c.topic ? `  ${c.topic}` : ''}`).join('\n')}`,
    );
  }
  return matches[0];
}

/** The conversation an owner command (`add`, `rename`, `delete-group`) names; exits with a hint when none. */
async function groupNamed(api: Api, target: string): Promise<ConversationView> {
  const me = (await api.me()).userId;
  const conv = findConversation(await api.conversations(), target, me);
  if (!conv) die(`you have no conversation with the id or group name ${target}; \`palisade-chat list\` shows them.`);
  return conv;
}

/** Conversations: list, create, rename, delete, add members, and the live view. */
export function addConversationCommands(program: Command): void {
  program
    .command('list')
    .description('list your conversations')
    .action(() =>
      run(async () => {
        const client = savedClient();
        const me = (await client.api.me()).userId;
        const convs = await client.api.conversations();
        if (convs.length === 0)
          out(
            'no conversations yet: `palisade-chat group NAME USER...` creates a group, `palisade-chat open USER` a direct chat',
          );
        for (const c of convs)
          out(`${c.id}  ${label(c, me).padEnd(24)} ${c.members.length} members${c.topic ? `  ${c.topic}` : ''}`);
      }),
    );

  program
    .command('group <name> [members...]')
    .description('create a group with the given members (user names); name and topic are stored sealed; prints its id')
    .option('--topic <text>', 'the group topic')
    .action((name: string, members: string[], o: { topic?: string }) =>
      run(async () => {
        const { id } = await savedClient().api.createGroup(name, members, o.topic);
        out(id);
        process.stderr.write(`created #${name} with ${members.length + 1} member(s)\n`);
      }),
    );

  program
    .command('rename <conversation>')
    .description('rename a group or change its topic (owners); <conversation> is its id, or its name when unique')
    .option('--name <name>', 'the new name')
    .option('--topic <text>', 'the new topic ("" clears it)')
    .action((conversation: string, o: { name?: string; topic?: string }) =>
      run(async () => {
        if (o.name === undefined && o.topic === undefined) die('give --name and/or --topic');
        const api = savedClient().api;
        const conv = await groupNamed(api, conversation);
        await api.updateConversation(conv.id, {
          ...(o.name !== undefined ? { name: o.name } : {}),
          ...(o.topic !== undefined ? { topic: o.topic === '' ? null : o.topic } : {}),
        });
        const did = [
          o.name !== undefined ? `renamed #${conv.name ?? '?'} to #${o.name}` : '',
          o.topic === undefined ? '' : o.topic === '' ? 'cleared the topic' : `set the topic to "${o.topic}"`,
        ];
        out(`${did.filter(Boolean).join('; ')} (${conv.id})`);
      }),
    );

  program
    .command('delete-group <conversation>')
    .description(
      'delete a group and all its messages for everyone (owners); the server destroys its key, so this cannot be undone. Asks first; --yes skips the question',
    )
    .option('-y, --yes', 'do not ask (for scripts)')
    .action((conversation: string, o: { yes?: boolean }) =>
      run(async () => {
        const api = savedClient().api;
        const conv = await groupNamed(api, conversation);
        await confirmDestructive(
          o,
          `delete #${conv.name ?? '?'} (${conv.id}) and all its messages for all ${conv.members.length} members`,
          conv.name ?? undefined,
        );
        await api.deleteConversation(conv.id);
        out(`deleted #${conv.name ?? '?'} (${conv.id}) and its messages`);
      }),
    );

  program
    .command('add <conversation> <username>')
    .description('add a user to a group (owners and admins); <conversation> is its id, or its name when unique')
    .action((conversation: string, username: string) =>
      run(async () => {
        const api = savedClient().api;
        const conv = await groupNamed(api, conversation);
        await api.addMember(conv.id, username);
        out(`added ${username} to #${conv.name ?? '?'}`);
      }),
    );

  program
    .command('open <target>')
    .description('live view of a conversation: an id, a group name (when unique), or a user name for a direct chat')
    .action((target: string) =>
      run(async () => {
        const client = savedClient();
        const { userId: me, username: myName } = await client.api.me();
        let conv = findConversation(await client.api.conversations(), target, me, true);
        if (!conv) {
          if (target.replace(/^@/, '') === myName)
            die(`${target} is you: open another user's name, a group name, or an id from \`palisade-chat list\`.`);
          const { id } = await client.api.openDirect(target.replace(/^@/, ''));
          conv = (await client.api.conversations()).find((c) => c.id === id);
        }
        if (!conv) die(`no conversation or user named ${target}`);
        const session = await openSecureSession(client);
        for (const w of session.warnings) process.stderr.write(`WARNING: ${w}\n`);
        try {
          process.exitCode = await liveView(client, session.secure, conv, me, (userId) => whoIs(session, userId));
        } finally {
          await session.close();
        }
      }),
    );
}
