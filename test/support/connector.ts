import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { AGENTS_PLAYGROUND_TENANT } from '../../bot/app/config';
import { cardText } from './adaptiveCards';

/**
 * A Bot Connector stand-in on loopback: the bot's replies (POST .../activities) and card
 * updates (PUT .../activities/:id) arrive here as real HTTP requests, so tests observe
 * exactly what Teams would receive.
 */
export interface ReceivedActivity {
  method: string;
  conversationId: string;
  activity: Record<string, any>;
}

export class FakeConnector {
  readonly received: ReceivedActivity[] = [];
  private waiters: Array<{ predicate: (a: ReceivedActivity) => boolean; resolve: (a: ReceivedActivity) => void }> = [];
  /** Optional hook to make the connector slow or failing for a request. */
  respond: (req: ReceivedActivity) => Promise<{ status: number; body?: unknown; headers?: Record<string, string> } | void> = async () =>
    undefined;

  private constructor(private readonly server: http.Server, readonly url: string) {}

  static async start(): Promise<FakeConnector> {
    let connector!: FakeConnector;
    const server = http.createServer((req, res) => void connector.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    connector = new FakeConnector(server, `http://127.0.0.1:${port}/`);
    return connector;
  }

  /** Conversations the bot created (1:1 chats), with the parameters it sent. */
  readonly created: Array<{ id: string; parameters: Record<string, any> }> = [];

  /** The team roster the connector reports (member lookups and paged members). */
  members: Array<{ id: string; name: string; email?: string; userRole?: string; aadObjectId?: string }> = [];

  /** Rosters of particular conversations (a team's channel), where teams must differ; others get `members`. */
  membersByConversation: Record<string, FakeConnector['members']> = {};

  private rosterOf(url: string): FakeConnector['members'] {
    const conversationId = decodeURIComponent(/\/v3\/conversations\/([^/?]+)/.exec(url)?.[1] ?? '');
    return this.membersByConversation[conversationId] ?? this.members;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += chunk;
    const memberLookup = /\/v3\/conversations\/[^/]+\/members\/([^/?]+)/.exec(req.url ?? '');
    if (req.method === 'GET' && memberLookup) {
      const member = this.rosterOf(req.url ?? '').find((candidate) => candidate.id === decodeURIComponent(memberLookup[1]));
      res.writeHead(member ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(member ?? { error: { code: 'MemberNotFoundInConversation', message: 'not a member' } }));
      return;
    }
    if (req.method === 'POST' && /^\/v3\/conversations\/?(\?.*)?$/.test(req.url ?? '')) {
      // Creating a conversation (a new 1:1 chat): answer with its id.
      const id = `a:created-${this.created.length + 1}`;
      this.created.push({ id, parameters: body ? JSON.parse(body) : {} });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id }));
      return;
    }
    if (req.method === 'GET' && /\/pagedmembers/.test(req.url ?? '')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ members: this.rosterOf(req.url ?? '') }));
      return;
    }
    const match = /\/v3\/conversations\/([^/]+)\/activities/.exec(req.url ?? '');
    const entry: ReceivedActivity = {
      method: req.method ?? 'GET',
      conversationId: match ? decodeURIComponent(match[1]) : '',
      activity: body ? JSON.parse(body) : {},
    };
    const custom = await this.respond(entry);
    if (custom && custom.status >= 400) {
      res.writeHead(custom.status, { 'content-type': 'application/json', ...custom.headers });
      res.end(JSON.stringify(custom.body ?? { error: { code: 'Failure' } }));
      return;
    }
    this.received.push(entry);
    for (const waiter of [...this.waiters]) {
      if (waiter.predicate(entry)) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(entry);
      }
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(custom?.body ?? { id: randomUUID() }));
  }

  /** Resolves with the first received activity (past or future) matching the predicate. */
  waitFor(predicate: (a: ReceivedActivity) => boolean, timeoutMs = 10_000): Promise<ReceivedActivity> {
    const already = this.received.find(predicate);
    if (already) return Promise.resolve(already);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('connector: expected activity did not arrive')), timeoutMs);
      this.waiters.push({
        predicate,
        resolve: (a) => {
          clearTimeout(timer);
          resolve(a);
        },
      });
    });
  }

  /** The 1:1 chat Signpost created with someone, once it has (the dispatcher sends in the background). */
  async chatCreatedWith(teamsUserId: string, timeoutMs = 10_000): Promise<{ id: string; parameters: Record<string, any> }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const chat = this.created.find((created) => created.parameters.members?.[0]?.id === teamsUserId);
      if (chat) return chat;
      if (Date.now() > deadline) throw new Error(`connector: no chat was created with ${teamsUserId}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  clear(): void {
    this.received.length = 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The tenant the test helpers' activities come from: the playground's, which local mode serves. */
export const TEST_TENANT = AGENTS_PLAYGROUND_TENANT;

/**
 * An incoming Teams-shaped activity as the channel would POST it to /api/messages. Like Teams,
 * it names its tenant in both places, whatever the fields say; a test of another tenant edits
 * the result.
 */
export function teamsActivity(
  connector: FakeConnector,
  fields: Partial<Record<string, any>> & { text?: string },
): Record<string, any> {
  const conversationType = fields.conversation?.conversationType ?? 'personal';
  const activity: Record<string, any> = {
    type: 'message',
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    channelId: 'msteams',
    serviceUrl: connector.url,
    from: { id: '29:receptionist-1', name: 'Amira Patel', aadObjectId: '00000000-0000-0000-0000-0000000000a1' },
    recipient: { id: '28:signpost-bot', name: 'Signpost' },
    conversation: { id: `a:conversation-${randomUUID()}`, conversationType },
    locale: 'en-GB',
    ...fields,
  };
  activity.conversation = { ...activity.conversation, tenantId: TEST_TENANT };
  activity.channelData = { ...activity.channelData, tenant: { id: TEST_TENANT } };
  return activity;
}

export async function postActivity(botUrl: string, activity: Record<string, any>): Promise<{ status: number; body: string }> {
  const response = await fetch(`${botUrl}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(activity),
  });
  return { status: response.status, body: await response.text() };
}

/** An activity said in a team channel (the thread id carries ";messageid="), as Teams sends it. */
export function channelActivity(
  connector: FakeConnector,
  where: { team: string; channel: string },
  fields: Partial<Record<string, any>>,
): Record<string, any> {
  return teamsActivity(connector, {
    conversation: { id: `${where.channel};messageid=1`, conversationType: 'channel' },
    channelData: { team: { id: where.team }, channel: { id: where.channel } },
    ...fields,
  });
}

/** Says something to Signpost in a team channel; returns its reply's text (a card's text when it answers with one). */
export async function sayInChannel(botUrl: string, connector: FakeConnector, where: { team: string; channel: string }, text: string, from: { id: string; name: string }): Promise<string> {
  const activity = channelActivity(connector, where, { type: 'message', text, from });
  await postActivity(botUrl, activity);
  const reply = await connector.waitFor((a) => a.method === 'POST' && a.activity.replyToId === activity.id);
  return reply.activity.text ?? cardText(reply.activity.attachments?.[0]?.content ?? {});
}
