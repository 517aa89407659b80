import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSignpost, RunningSignpost } from '../../bot/app/server';
import { createLogger } from '../../bot/app/log';
import { sampleReferral } from '../support/fixtures';
import { channelActivity, FakeConnector, postActivity } from '../support/connector';
import { cardText, expectValidTeamsCard } from '../support/adaptiveCards';

const at = '2026-11-24T12:00:00.000Z';


describe('Service channels (real server, Teams connector on loopback)', () => {
  let folder: string;
  let connector: FakeConnector;
  let bot: RunningSignpost;

  before(async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'signpost-channels-'));
    connector = await FakeConnector.start();
    bot = await startSignpost({ env: { PATH: process.env.PATH }, port: 0, host: '127.0.0.1', dataDir: folder, logger: createLogger('error', () => undefined) });
  });
  after(async () => {
    await bot?.stop();
    await connector?.stop();
    rmSync(folder, { recursive: true, force: true });
  });
  beforeEach(() => connector.clear());

  /** Says something to Signpost in a team channel and returns its text reply. */
  async function sayInChannel(text: string, channel = '19:referrals@thread.tacv2', team = '19:team@thread.tacv2'): Promise<string> {
    const incoming = channelActivity(connector, { team, channel }, {
      text: `<at>Signpost</at> ${text}`,
      entities: [{ type: 'mention', text: '<at>Signpost</at>', mentioned: { id: '28:signpost-bot', name: 'Signpost' } }],
    });
    await postActivity(bot.url, incoming);
    const reply = await connector.waitFor((a) => a.conversationId.startsWith(channel) && a.activity.replyToId === incoming.id);
    return reply.activity.text ?? JSON.stringify(reply.activity.attachments);
  }

  it('explains what is wrong with a link it cannot make', async () => {
    expect(await sayInChannel('link')).to.contain('Say which service').and.contain('sail');
    expect(await sayInChannel('link nonsense')).to.contain('There is no service "nonsense"');
    expect(await sayInChannel('link gstt-high-intensity-users')).to.contain('takes no referrals');
    expect(await sayInChannel('status')).to.contain('not linked');
  });

  it('links a channel, posts the referrals waiting for the service, and keeps one channel per service @safety', async () => {
    const repository = bot.signpost.store.referrals;
    const waiting = sampleReferral({ reference: 'SP-2026-000901', facts: { age: 76, borough: 'southwark', sociallyIsolated: true, referralRoute: 'gp' } });
    await repository.submit(waiting, { referralId: waiting.id, at, actor: { id: '29:r' }, action: 'referral.submitted', detail: {} });

    const confirmation = await sayInChannel('link sail');
    expect(confirmation).to.contain('now receives referrals for **Safe and Independent Living (SAIL) signposting programme**');
    expect(confirmation).to.contain('1 referral waiting');

    const post = await connector.waitFor((a) => a.conversationId === '19:referrals@thread.tacv2' && Boolean(a.activity.attachments));
    const card = post.activity.attachments[0].content;
    expectValidTeamsCard(card);
    const text = cardText(card);
    expect(text).to.contain('SP-2026-000901').and.contain('SE5, Southwark').and.contain('Company at lunchtime').and.contain('Socially isolated');
    for (const identifier of ['Jane', 'Example', '9434765919', '943 476', '8AU', '7946', '1950']) expect(text).not.to.contain(identifier);

    const stored = await repository.get(waiting.id);
    expect(stored?.referral.channelPost?.conversationId).to.equal('19:referrals@thread.tacv2');
    expect((await repository.audit(waiting.id)).map((event) => event.action)).to.deep.equal(['referral.submitted', 'referral.posted-to-channel']);

    // Linking again posts nothing twice; another channel cannot take the same service.
    connector.clear();
    expect(await sayInChannel('link sail')).not.to.contain('waiting');
    expect(connector.received.filter((a) => a.activity.attachments)).to.have.length(0);
    expect(await sayInChannel('link sail', '19:other@thread.tacv2')).to.contain('already linked to another channel');
    expect(await sayInChannel('link wellbeing-hub')).to.contain('already serves Safe and Independent Living');
    expect(await sayInChannel('status')).to.contain('Open referrals: 1 (SP-2026-000901)');

    expect(await sayInChannel('unlink')).to.contain('no longer receives referrals');
    expect(await sayInChannel('unlink')).to.contain('not linked');
    expect(await sayInChannel('link sail', '19:other@thread.tacv2')).to.contain('now receives referrals');
  });

  it('lists the channel commands when asked for help in a channel', async () => {
    const help = await sayInChannel('help');
    expect(help).to.contain('link [service id]').and.contain('unlink').and.contain('status');
  });
});
