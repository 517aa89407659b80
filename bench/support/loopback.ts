import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { AGENTS_PLAYGROUND_TENANT } from '../../bot/app/config';

/**
 * The Bot Connector as a bot sees it, on loopback: replies and card updates arrive as real HTTP
 * requests and are kept per conversation; member look-ups answer with a team roster. Only for
 * the benchmarks (tests have their own, richer stand-in).
 */
export class LoopbackConnector {
  readonly received = new Map<string, Array<{ at: number; activity: Record<string, any> }>>();
  members: Array<{ id: string; name: string; email?: string }> = [];
  private waiters: Array<{ conversationId: string; test: (activity: Record<string, any>) => boolean; resolve: (at: number) => void }> = [];

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(): Promise<LoopbackConnector> {
    let connector!: LoopbackConnector;
    const server = http.createServer((req, res) => void connector.handle(req, res));
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    connector = new LoopbackConnector(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    return connector;
  }

  /** Resolves with the time an activity passing `test` arrives in the conversation. */
  arrival(conversationId: string, test: (activity: Record<string, any>) => boolean): Promise<number> {
    const already = this.received.get(conversationId)?.find((entry) => test(entry.activity));
    if (already) return Promise.resolve(already.at);
    return new Promise((resolve) => this.waiters.push({ conversationId, test, resolve }));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += chunk;
    const url = req.url ?? '';
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const member = /\/v3\/conversations\/[^/]+\/members\/([^/?]+)/.exec(url);
    if (req.method === 'GET' && member) {
      const found = this.members.find((candidate) => candidate.id === decodeURIComponent(member[1]));
      return send(found ? 200 : 404, found ?? { error: { code: 'MemberNotFoundInConversation' } });
    }
    if (req.method === 'GET' && /\/pagedmembers/.test(url)) return send(200, { members: this.members });
    if (req.method === 'POST' && /^\/v3\/conversations\/?(\?.*)?$/.test(url)) return send(200, { id: `a:created-${randomUUID()}` });
    const activity = /\/v3\/conversations\/([^/]+)\/activities/.exec(url);
    if (activity) {
      const conversationId = decodeURIComponent(activity[1]);
      const entry = { at: performance.now(), activity: body ? JSON.parse(body) : {} };
      const list = this.received.get(conversationId) ?? [];
      list.push(entry);
      this.received.set(conversationId, list);
      for (const waiter of [...this.waiters]) {
        if (waiter.conversationId === conversationId && waiter.test(entry.activity)) {
          this.waiters = this.waiters.filter((other) => other !== waiter);
          waiter.resolve(entry.at);
        }
      }
    }
    send(200, { id: randomUUID() });
  }
}

/** An activity as Teams would post it to a bot, from the Agents Playground's tenant. */
export function activityFrom(connector: LoopbackConnector, fields: Record<string, any>): Record<string, any> {
  const conversation = fields.conversation ?? { id: `a:${randomUUID()}`, conversationType: 'personal' };
  return {
    type: 'message',
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    channelId: 'msteams',
    serviceUrl: connector.url,
    recipient: { id: '28:signpost-bot', name: 'Signpost' },
    locale: 'en-GB',
    ...fields,
    conversation: { tenantId: AGENTS_PLAYGROUND_TENANT, ...conversation },
    channelData: { ...fields.channelData, tenant: { id: AGENTS_PLAYGROUND_TENANT } },
  };
}

/** Posts an activity to a bot; resolves with the HTTP status and body when the turn is done. */
export async function post(botUrl: string, activity: Record<string, any>): Promise<{ status: number; body: string }> {
  const response = await fetch(`${botUrl}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(activity) });
  return { status: response.status, body: await response.text() };
}
