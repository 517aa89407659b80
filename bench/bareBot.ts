import type { AddressInfo } from 'node:net';
import * as restify from 'restify';
import { CardFactory, CloudAdapter, ConfigurationBotFrameworkAuthentication } from 'botbuilder';

/**
 * The yardstick for the turn benchmark: a bare botbuilder bot on the same HTTP stack as
 * Signpost (restify, CloudAdapter, no authentication) that answers every message with one small
 * Adaptive Card and keeps no state; and every click on a Universal Action (Action.Execute) with
 * that card as the answer, which replaces the clicked one.
 */
const CARD = {
  type: 'AdaptiveCard',
  version: '1.5',
  body: [{ type: 'TextBlock', text: 'Hello from the bare bot', wrap: true }],
  actions: [{ type: 'Action.Submit', title: 'Again', data: { again: true } }],
};

export async function startBareBot(): Promise<{ url: string; stop(): Promise<void> }> {
  const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
  const server = restify.createServer({ name: 'bare-bot' });
  server.use(restify.plugins.bodyParser({ maxBodySize: 256 * 1024 }));
  server.post('/api/messages', async (req, res) => {
    await adapter.process(req, res, async (context) => {
      if (context.activity.type === 'message') await context.sendActivity({ attachments: [CardFactory.adaptiveCard(CARD)] });
      if (context.activity.type === 'invoke' && context.activity.name === 'adaptiveCard/action') {
        await context.sendActivity({ type: 'invokeResponse', value: { status: 200, body: { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: CARD } } });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
