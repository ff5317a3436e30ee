import { MLS_SERVER_SUITES, mlsGroupIdOf, type MlsCommitRequest } from '@palisade/protocol';
import { AppError } from '../core/index.js';
import { fromB64Url } from './device.js';
import { peekMls } from './mls-wire.js';
import { sameBytes } from './send-gate.js';

const invalid = (reason: string) => new AppError('invalid_mls_message', undefined, { details: { reason } });

/** A commit request whose MLS parts were decoded and checked against each other (no store yet). */
export interface CheckedCommit {
  epoch: number;
  commit: Uint8Array;
  welcome: Uint8Array | undefined;
  groupInfo: Uint8Array;
  /** The suite the GroupInfo (and Welcome) name. */
  suite: string;
  /** The request named the suite (it must when it creates the group). */
  suiteGiven: boolean;
  added: string[];
  removed: string[];
  external: boolean;
}

/**
 * Checks the shapes of a commit request before any transaction: the commit is an MLS commit for this
 * conversation's group (`palisade:<id>`) at `epoch` (an external one is a PublicMessage from a new
 * member); the GroupInfo is of the same group at `epoch + 1`; a Welcome is present exactly when
 * devices are added (never for an external commit), in the same suite; no device is both added and
 * removed. Throws `invalid_mls_message` with a reason.
 */
export function checkCommitShape(conversationId: string, body: MlsCommitRequest): CheckedCommit {
  const groupId = mlsGroupIdOf(conversationId);
  const commit = fromB64Url(body.commit);
  const c = peekMls(commit);
  if (!c || (c.wireformat !== 'public_message' && c.wireformat !== 'private_message') || c.contentType !== 'commit')
    throw invalid('commit is not an MLS commit message');
  if (!c.groupId || !sameBytes(c.groupId, groupId)) throw invalid("commit is not for this conversation's group");
  if (c.epoch !== body.epoch) throw invalid('commit epoch differs from the request epoch');
  if (c.wireformat === 'public_message' && c.senderType !== 'member' && c.senderType !== 'new_member_commit')
    throw invalid('a commit comes from a member or, by external commit, a new member');
  const external = body.external === true;
  if (external !== (c.wireformat === 'public_message' && c.senderType === 'new_member_commit'))
    throw invalid('an external commit is a PublicMessage from a new member, and only it is marked external');
  const groupInfo = fromB64Url(body.groupInfo);
  const gi = peekMls(groupInfo);
  if (gi?.wireformat !== 'group_info' || !gi.groupId || !sameBytes(gi.groupId, groupId))
    throw invalid("groupInfo is not a GroupInfo of this conversation's group");
  if (gi.epoch !== body.epoch + 1) throw invalid('groupInfo is not of the epoch the commit starts');
  const suite = gi.suite as string;
  if (!(MLS_SERVER_SUITES as readonly string[]).includes(suite)) throw invalid('cipher suite not allowed');
  if (body.suite !== undefined && body.suite !== suite) throw invalid('suite differs from the GroupInfo suite');
  const welcome = body.welcome === undefined ? undefined : fromB64Url(body.welcome);
  if (welcome) {
    const w = peekMls(welcome);
    if (w?.wireformat !== 'welcome') throw invalid('welcome is not an MLS Welcome');
    if (w.suite !== suite) throw invalid('welcome suite differs from the group suite');
  }
  const added = [...new Set(body.added)];
  const removed = [...new Set(body.removed)];
  if (external && (welcome || added.length > 0)) throw invalid('an external commit adds only its sender');
  if (!external && (welcome !== undefined) !== added.length > 0)
    throw invalid('a welcome is sent exactly when devices are added');
  if (added.some((d) => removed.includes(d))) throw invalid('a device is both added and removed');
  return {
    epoch: body.epoch,
    commit,
    welcome,
    groupInfo,
    suite,
    suiteGiven: body.suite !== undefined,
    added,
    removed,
    external,
  };
}
