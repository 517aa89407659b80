import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { odata } from '@azure/data-tables';
import { startSignpost, RunningSignpost } from '../../bot/app/server';
import { createLogger } from '../../bot/app/log';
import type { RequestedAction } from '../../bot/referrals/referralActions';
import type { Referral } from '../../domain/referral/referral';
import { sampleReferral, FIXTURE_TIME } from '../support/fixtures';
import { channelActivity, FakeConnector, postActivity } from '../support/connector';

const CHANNEL = '19:sail-referrals@thread.tacv2';
const TEAM = '19:sail-team@thread.tacv2';
const KWAME = { id: '29:kwame', name: 'Kwame Mensah', email: 'kwame.mensah@sail.example' };

/**
 * The application layer is the one path for every action: a click in Teams and a direct call
 * with the same actor and action must leave exactly the same referral, audit event and outbox.
 */
describe('One path for every referral action (Teams invoke and a direct call agree)', () => {
  let folder: string;
  let connector: FakeConnector;
  let bot: RunningSignpost;

  before(async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'signpost-app-layer-'));
    connector = await FakeConnector.start();
    connector.members = [KWAME];
    bot = await startSignpost({
      env: { PATH: process.env.PATH },
      port: 0,
      host: '127.0.0.1',
      dataDir: folder,
      logger: createLogger('error', () => undefined),
      now: () => new Date(FIXTURE_TIME),
    });
    await postActivity(bot.url, channelActivity(connector, { team: TEAM, channel: CHANNEL }, { type: 'message', text: 'link sail', from: KWAME }));
  });
  after(async () => {
    await bot?.stop();
    await connector?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  async function submitted(reference: string): Promise<Referral> {
    const referral = { ...sampleReferral({ reference }), referrerConversation: { serviceUrl: connector.url, channelId: 'msteams', conversation: { id: 'a:referrer-chat' } } };
    await bot.signpost.store.referrals.submit(referral, { referralId: referral.id, at: FIXTURE_TIME, actor: { id: '29:r' }, action: 'referral.submitted', detail: {} });
    return referral;
  }

  /** Everything stored about a referral, with its own id and reference replaced so two can be compared. */
  async function snapshot(referral: Referral): Promise<unknown> {
    const stored = (await bot.signpost.store.referrals.get(referral.id))!.referral;
    // Every event here has the same (fixed) time, so their order in storage is arbitrary: compare as a set.
    const audit = (await bot.signpost.store.referrals.audit(referral.id)).map((event) => JSON.stringify(event)).sort();
    const client = bot.tables.client('referrals');
    const outbox: Array<{ key: string; channel: string; body: string }> = [];
    for await (const row of client.listEntities<{ kind: string; key: string; channel: string; body: string }>({ queryOptions: { filter: odata`PartitionKey eq ${referral.id}` } })) {
      if (row.kind === 'outbox') outbox.push({ key: row.key, channel: row.channel, body: row.body });
    }
    const text = JSON.stringify({ stored, audit, outbox: outbox.sort((a, b) => a.key.localeCompare(b.key)) });
    return JSON.parse(text.split(referral.id).join('<id>').split(referral.reference).join('<reference>'));
  }

  async function clickInTeams(referral: Referral, verb: string, data: Record<string, unknown>): Promise<void> {
    const invoke = channelActivity(connector, { team: TEAM, channel: CHANNEL }, { type: 'invoke', name: 'adaptiveCard/action', from: KWAME, value: { action: { type: 'Action.Execute', verb, data: { referralId: referral.id, ...data } } } });
    const { status, body } = await postActivity(bot.url, invoke);
    expect(status).to.equal(200);
    expect(JSON.parse(body).statusCode).to.equal(200);
  }

  const steps: Array<{ verb: string; data: Record<string, unknown>; action: RequestedAction }> = [
    { verb: 'accept', data: {}, action: { verb: 'accept' } },
    { verb: 'update', data: { status: 'contacted' }, action: { verb: 'update', status: 'contacted' } },
    { verb: 'ons4', data: { ons4Stage: 'baseline', lifeSatisfaction: '4', worthwhile: '5', happiness: '3', anxiety: '8' }, action: { verb: 'record-ons4', stage: 'baseline', scores: { lifeSatisfaction: 4, worthwhile: 5, happiness: 3, anxiety: 8 } } },
    { verb: 'close', data: { closeReason: 'completed', closeNote: 'Goes to lunch club weekly' }, action: { verb: 'close', reason: 'completed', note: 'Goes to lunch club weekly' } },
  ];

  it('accept, update, outcome scores and close: the same referral, audit trail and outbox either way', async () => {
    const viaTeams = await submitted('SP-2026-000701');
    const direct = await submitted('SP-2026-000702');
    const actor = { id: KWAME.id, name: KWAME.name, identifiedBy: 'teams' as const, teamsChannel: { teamId: TEAM, channelId: CHANNEL } };
    for (const [index, step] of steps.entries()) {
      await clickInTeams(viaTeams, step.verb, { version: index + 1, ...step.data });
      const outcome = await bot.signpost.actions.act(actor, direct.id, index + 1, step.action);
      expect(outcome.kind, step.verb).to.equal('changed');
      expect(await snapshot(direct), step.verb).to.deep.equal(await snapshot(viaTeams));
    }
    const final = (await bot.signpost.store.referrals.get(direct.id))!.referral;
    expect(final).to.deep.include({ status: 'closed', version: 5 });
    expect(final.owner).to.deep.include({ id: KWAME.id, email: KWAME.email });
  });

  it('refuses the same way: a stale version and an outsider change nothing on either path @safety', async () => {
    const referral = await submitted('SP-2026-000703');
    const before = await snapshot(referral);
    const stale = await bot.signpost.actions.act({ id: KWAME.id, name: KWAME.name, identifiedBy: 'teams', teamsChannel: { teamId: TEAM, channelId: CHANNEL } }, referral.id, 7, { verb: 'accept' });
    expect(stale.kind).to.equal('stale');
    const outsider = await bot.signpost.actions.act({ id: '29:stranger', name: 'Not In The Team', identifiedBy: 'teams', teamsChannel: { teamId: TEAM, channelId: CHANNEL } }, referral.id, 1, { verb: 'accept' });
    expect(outsider).to.deep.include({ kind: 'refused' });
    expect(outsider.kind === 'refused' && outsider.notice).to.contain("Only the service's link workers");
    // An email-identified actor is not a Teams link worker: nothing here lets an address act on a Teams service.
    const byEmail = await bot.signpost.actions.act({ id: KWAME.email, name: KWAME.name, email: KWAME.email, identifiedBy: 'email-link' }, referral.id, 1, { verb: 'accept' });
    expect(byEmail.kind).to.equal('refused');
    expect(await snapshot(referral)).to.deep.equal(before);
  });
});
