import {
  AddMemberRequest,
  CreateConversationRequest,
  HistoryQuery,
  IdParams,
  MemberParams,
  Payload,
  SendMessageRequest,
  UpdateConversationRequest,
} from '@palisade/protocol';
import { AppError } from '../../core/index.js';
import {
  addMember,
  createGroup,
  deleteConversation,
  listConversations,
  updateConversation,
  listMessages,
  openDirect,
  presentMessage,
  receiptCursors,
  removeMember,
  sendMessage,
} from '../../messaging/index.js';
import { route } from '../route.js';

/** Conversations, members and messages over HTTP (the same use cases the WebSocket calls). */
export const conversationRoutes = [
  route({
    method: 'GET',
    url: '/v1/conversations',
    access: 'authenticated',
    summary: 'My conversations with members',
    handler: async ({ deps, principal }) => ({ conversations: await listConversations(deps.messaging, principal) }),
  }),
  route({
    method: 'POST',
    url: '/v1/conversations',
    access: 'conversation.create',
    summary: 'Open a direct conversation or create a group',
    body: CreateConversationRequest,
    status: 201,
    handler: async ({ deps, principal, body }) =>
      body.kind === 'direct'
        ? openDirect(deps.messaging, principal, body.peer)
        : { id: await createGroup(deps.messaging, principal, body.name, body.members, body.topic), created: true },
  }),
  route({
    method: 'PATCH',
    url: '/v1/conversations/:id',
    access: 'conversation.rename',
    summary: 'Rename a group or change its topic (owners)',
    params: IdParams,
    body: UpdateConversationRequest,
    handler: async ({ deps, principal, params, body }) => {
      await updateConversation(deps.messaging, principal, params.id, body);
    },
  }),
  route({
    method: 'DELETE',
    url: '/v1/conversations/:id',
    access: 'conversation.delete',
    summary: 'Delete a group and destroy its data key (owners)',
    params: IdParams,
    handler: async ({ deps, principal, params }) => {
      await deleteConversation(deps.messaging, principal, params.id);
    },
  }),
  route({
    method: 'POST',
    url: '/v1/conversations/:id/members',
    access: 'member.add',
    summary: 'Add a member to a group',
    params: IdParams,
    body: AddMemberRequest,
    status: 201,
    handler: async ({ deps, principal, params, body }) => ({
      userId: await addMember(deps.messaging, principal, params.id, body.username, body.role),
    }),
  }),
  route({
    method: 'DELETE',
    url: '/v1/conversations/:id/members/:userId',
    access: 'member.remove',
    summary: 'Remove a member, or leave',
    params: MemberParams,
    handler: async ({ deps, principal, params }) => {
      await removeMember(deps.messaging, principal, params.id, params.userId);
    },
  }),
  route({
    method: 'GET',
    url: '/v1/conversations/:id/messages',
    access: 'conversation.read',
    summary: 'History paged by sequence',
    params: IdParams,
    query: HistoryQuery,
    handler: async ({ deps, principal, params, query, address }) => {
      const msgs = await listMessages(deps.messaging, principal, params.id, query.after, query.limit, address);
      return { messages: msgs.map(presentMessage) };
    },
  }),
  route({
    method: 'POST',
    url: '/v1/conversations/:id/messages',
    access: 'message.send',
    summary: 'Send a message (acknowledged after commit)',
    params: IdParams,
    body: SendMessageRequest,
    status: 201,
    handler: async ({ deps, principal, params, body }) => {
      if (!Payload.safeParse(body.payload).success)
        throw new AppError(
          body.payload.length > 90_000 ? 'payload_too_large' : 'bad_request',
          'payload must be base64 of at most 64 KiB',
        );
      return sendMessage(deps.messaging, principal, {
        conversationId: params.id,
        clientMsgId: body.clientMsgId,
        payload: Buffer.from(body.payload, 'base64'),
      });
    },
  }),
  route({
    method: 'GET',
    url: '/v1/conversations/:id/receipts',
    access: 'conversation.read',
    summary: 'Delivered and read positions of every member',
    params: IdParams,
    handler: async ({ deps, principal, params }) => ({
      receipts: await receiptCursors(deps.messaging, principal, params.id),
    }),
  }),
];
