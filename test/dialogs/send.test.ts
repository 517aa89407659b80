import { expect } from 'chai';
import sinon from 'sinon';
import { testTables } from '../support/azurite';
import type { RunningAzurite } from '../../storage/azurite';
import type { TableConnection } from '../../storage/tables';
import { Card, ConversationRef, DeliveryError, Messenger, RosterMember } from '../../bot/notifications/messenger';
import { cardText } from '../support/adaptiveCards';
import { createWorld, fill, lastCard, ReferralHarness, ReferralWorld, replyText, walkTo, FIXED_NOW } from '../support/referralHarness';

/**
 * The Teams connector at the Messenger port: records what would be posted, or refuses it as
 * Teams does when the bot was removed from the team or the service is failing.
 */
class ConnectorStandIn implements Messenger {
  readonly posted: Card[] = [];
  failWith: DeliveryError | undefined;
  async send(_conversation: ConversationRef, card: Card): Promise<string> {
    if (this.failWith) throw this.failWith;
    this.posted.push(card);
    return `activity-${this.posted.length}`;
  }
  async update(): Promise<void> {}
  async sendPersonal(): Promise<ConversationRef | undefined> {
    throw new DeliveryError('unreachable', 'no 1:1 chats in this test');
  }
  async members(): Promise<RosterMember[]> {
    return [];
  }
  async member(): Promise<RosterMember | undefined> {
    return undefined;
  }
}

describe('Send is honest and complete (referral dialog, outbox on Azurite)', () => {
  let azurite: RunningAzurite;
  let tables: TableConnection;
  let world: ReferralWorld;
  let connector: ConnectorStandIn;
  let bot: ReferralHarness;

  before(async () => ({ azurite, tables } = await testTables()));
  after(async () => azurite?.stop());
  beforeEach(async () => {
    world = await createWorld(tables);
    connector = new ConnectorStandIn();
    bot = new ReferralHarness(world, undefined, { messenger: connector, settings: { SIGNPOST_NOTIFY_MAX_ATTEMPTS: '2', SIGNPOST_NOTIFY_RETRY_BASE_MS: '1' } });
    await world.channels.link({
      serviceId: 'sail',
      channelId: '19:sail@thread.tacv2',
      teamId: '19:team@thread.tacv2',
      conversation: { serviceUrl: 'http://127.0.0.1:1/', channelId: 'msteams', conversation: { id: '19:sail@thread.tacv2' } },
      linkedBy: { id: '29:kwame' },
      linkedAt: FIXED_NOW.toISOString(),
    });
  });

  it('gives the reference once the referral is stored, even when the channel refuses the post; the post is retried and then counted as failed @safety', async () => {
    connector.failWith = new DeliveryError('transient', 'Teams post: failed (500)', 500);
    const summary = await walkTo(bot, 'summary');
    const confirmation = cardText(lastCard(await bot.send(fill(summary, {}))));
    const [entry] = await world.queue.list('sail');
    expect(confirmation).to.contain(entry.reference).and.contain("being posted to Safe and Independent Living (SAIL) signposting programme's Teams channel");

    expect(await bot.signpost.dispatcher.runOnce()).to.deep.include({ retried: 1, failed: 0 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await bot.signpost.dispatcher.runOnce()).to.deep.include({ failed: 1 });
    expect(await world.outbox.counts()).to.deep.equal({ pending: 0, failed: 1 });
    expect(await bot.signpost.adminStatus.overview()).to.contain(`${entry.referralId} by teams`);
    expect(connector.posted).to.have.length(0);
  });

  it('posts the card once the channel answers again; after a confirmed Send there is nothing left to cancel @safety', async () => {
    connector.failWith = new DeliveryError('throttled', 'Teams post: throttled', 429);
    const summary = await walkTo(bot, 'summary');
    await bot.send(fill(summary, {}));
    await bot.signpost.dispatcher.runOnce();
    connector.failWith = undefined;
    await new Promise((resolve) => setTimeout(resolve, 5));
    await bot.signpost.dispatcher.runOnce();
    const [entry] = await world.queue.list('sail');
    expect(connector.posted.map(cardText)).to.have.length(1);
    expect(cardText(connector.posted[0])).to.contain(entry.reference).and.not.contain('Jane');
    expect((await world.referrals.get(entry.referralId))!.referral.channelPost?.activityId).to.equal('activity-1');
    expect(replyText(await bot.send('cancel'))).to.contain('nothing in progress');
  });

  it('cancel after a Send that stored the referral but could not confirm it says the referral is kept', async () => {
    const summary = await walkTo(bot, 'summary');
    const service = bot.signpost.referralService;
    const submit = service.submit.bind(service);
    const failAfterStoring = sinon.stub(service, 'submit').callsFake(async (...args) => {
      await submit(...args);
      throw new Error('the reply could not be sent');
    });
    try {
      await bot.send(fill(summary, {})).catch(() => undefined);
    } finally {
      failAfterStoring.restore();
    }
    const [entry] = await world.queue.list('sail');
    const answer = replyText(await bot.send('cancel'));
    expect(answer).to.contain(`Referral ${entry.reference} had already been sent`).and.contain('is kept').and.not.contain('Nothing about the person has been saved');
    expect(await world.referrals.get(entry.referralId)).not.to.equal(undefined);
  });

  it('Send pressed twice at once stores one referral, uses one reference and posts one card @safety', async () => {
    const summary = await walkTo(bot, 'summary');
    const results = await Promise.allSettled([bot.send(fill(summary, {})), bot.send(fill(summary, {}))]);
    expect(results.some((result) => result.status === 'fulfilled')).to.equal(true);
    const queued = (await Promise.all((await world.directory.list()).map((service) => world.queue.list(service.id)))).flat();
    expect(queued).to.have.length(1);
    await bot.signpost.dispatcher.runOnce();
    expect(connector.posted).to.have.length(1);
    // One reference recorded for the referral (a second Send's number, if it drew one, is left unused).
    const issued: string[] = [];
    for await (const row of tables.client(`${world.names.referralPrefix}counters`).listEntities<{ referralId?: string }>()) {
      if (row.rowKey?.startsWith('issued|') && row.referralId === queued[0].referralId) issued.push(row.rowKey.slice('issued|'.length));
    }
    expect(issued).to.deep.equal([queued[0].reference]);
  });
  it('starts the reminder clocks from an outbox message stored with the referral, right after the reply @safety', async () => {
    const summary = await walkTo(bot, 'summary');
    await bot.send(fill(summary, {}));
    const [entry] = await world.queue.list('sail');
    // Written in the referral's own partition, so in the transaction that stored it.
    const stored: string[] = [];
    for await (const row of tables.client(`${world.names.referralPrefix}referrals`).listEntities({ queryOptions: { filter: `PartitionKey eq '${entry.referralId}'` } })) stored.push(row.rowKey!);
    expect(stored).to.include(`outbox-${entry.referralId}:1:clocks`);

    await bot.signpost.dispatcher.runOnce();
    const clocks = (await world.timers.due(new Date('2027-06-01T00:00:00Z'))).timers.filter((timer) => timer.referralId === entry.referralId);
    expect(clocks.map((timer) => timer.kind).sort()).to.deep.equal(['not-accepted-escalation', 'not-accepted-reminder']);
  });

  it('never gives up on starting a referral\'s clocks: storage refusing them is retried past the notification limit, not failed @safety', async () => {
    const prepare = sinon.stub(bot.signpost.supervision, 'prepare').rejects(new Error('storage is unavailable'));
    try {
      const summary = await walkTo(bot, 'summary');
      await bot.send(fill(summary, {}));
      for (let pass = 0; pass < 4; pass += 1) {
        await bot.signpost.dispatcher.runOnce();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(prepare.callCount).to.be.greaterThan(2); // SIGNPOST_NOTIFY_MAX_ATTEMPTS is 2 here
      expect(await world.outbox.counts()).to.deep.equal({ pending: 1, failed: 0 });
    } finally {
      prepare.restore();
    }
    const [entry] = await world.queue.list('sail');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await bot.signpost.dispatcher.runOnce();
    expect(await world.outbox.counts()).to.deep.equal({ pending: 0, failed: 0 });
    const clocks = (await world.timers.due(new Date('2027-06-01T00:00:00Z'))).timers.filter((timer) => timer.referralId === entry.referralId);
    expect(clocks).to.have.length(2);
  });
});
