import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSignpost, RunningSignpost } from '../../bot/app/server';
import { createLogger } from '../../bot/app/log';
import { DEFAULT_STORAGE_TIMEOUT_MS } from '../../storage/tables';
import { FakeConnector, postActivity, teamsActivity } from '../support/connector';

/**
 * Storage that accepts connections but never answers: the embedded Azurite, a real process,
 * frozen with SIGSTOP. Teams waits about 15 s for a message turn and 5 s for a card action;
 * Signpost must answer within those, say that storage is the problem, and recover on SIGCONT.
 */
const TEAMS_MESSAGE_LIMIT_MS = 15_000;
const TEAMS_INVOKE_LIMIT_MS = 5_000;
const noSettings = { PATH: process.env.PATH } as NodeJS.ProcessEnv;

describe('Signpost when storage stops answering (embedded Azurite frozen with SIGSTOP)', function () {
  this.timeout(60_000);
  let dataDir: string;
  let connector: FakeConnector;
  let bot: RunningSignpost;
  let azuritePid: number;
  let frozen = false;
  const logs: Array<Record<string, unknown>> = [];

  const freeze = () => {
    process.kill(azuritePid, 'SIGSTOP');
    frozen = true;
  };
  const thaw = () => {
    if (!frozen) return;
    process.kill(azuritePid, 'SIGCONT');
    frozen = false;
  };

  /** Posts an activity and times both the HTTP answer and the bot's reply in the chat. */
  async function timedTurn(activity: Record<string, any>) {
    const started = performance.now();
    const posted = postActivity(bot.url, activity).then((result) => ({ ...result, ms: performance.now() - started }));
    const reply = await connector.waitFor((a) => a.conversationId === activity.conversation.id, TEAMS_MESSAGE_LIMIT_MS);
    const replyMs = performance.now() - started;
    return { reply, replyMs, http: await posted };
  }

  /** A click on a referral card's button (Universal Actions), as Teams sends it. */
  const cardClick = () =>
    teamsActivity(connector, {
      type: 'invoke',
      name: 'adaptiveCard/action',
      text: undefined,
      value: { action: { type: 'Action.Execute', verb: 'accept', data: { referralId: randomUUID(), version: 1 } } },
    });

  /** Someone this process has not seen yet: remembering their chat is one more storage call. */
  const newcomer = () => ({ id: `29:${randomUUID()}`, name: 'Amira Patel', aadObjectId: randomUUID() });

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'signpost-freeze-'));
    connector = await FakeConnector.start();
    const logger = createLogger('debug', (line) => logs.push(JSON.parse(line)));
    bot = await startSignpost({ env: noSettings, port: 0, host: '127.0.0.1', dataDir, logger });
    azuritePid = bot.azurite!.pid;
  });
  after(async () => {
    // Never leave a stopped process behind, whatever failed.
    thaw();
    await bot?.stop();
    await connector?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('works before the freeze (the same turn lists referrals)', async () => {
    expect(bot.config.storageTimeoutMs).to.equal(DEFAULT_STORAGE_TIMEOUT_MS);
    const { reply } = await timedTurn(teamsActivity(connector, { text: 'my referrals' }));
    expect(reply.activity.attachments?.[0]?.contentType).to.equal('application/vnd.microsoft.card.adaptive');
  });

  describe('while Azurite is frozen', () => {
    before(freeze);
    after(thaw);

    it('answers a message turn well within Teams’ 15 s, saying storage could not be reached', async () => {
      const incoming = teamsActivity(connector, { text: 'my referrals', from: newcomer() });
      const { reply, replyMs, http } = await timedTurn(incoming);
      console.log(`      message turn: reply after ${Math.round(replyMs)} ms, HTTP ${http.status} after ${Math.round(http.ms)} ms`);
      expect(reply.activity.text).to.match(/cannot reach its storage/).and.not.match(/still on the card/);
      expect(http.status).to.equal(200);
      // A newcomer's chat is remembered alongside the turn, so the turn waits out one deadline, not two.
      expect(replyMs).to.be.below(DEFAULT_STORAGE_TIMEOUT_MS + 2_000);
      expect(http.ms).to.be.below(DEFAULT_STORAGE_TIMEOUT_MS + 2_000);
      const errors = logs.filter((entry) => entry.event === 'turn-error');
      expect(errors.at(-1)).to.include({ errorName: 'StorageUnavailableError', errorCode: 'StorageUnavailable' });
    });

    it('tells someone who sent a card that what they entered is still on it @safety', async () => {
      const incoming = teamsActivity(connector, { text: undefined, value: { action: 'next', firstName: 'Jane' } });
      const { reply, replyMs } = await timedTurn(incoming);
      console.log(`      card submit: reply after ${Math.round(replyMs)} ms`);
      expect(reply.activity.text).to.match(/cannot reach its storage/).and.match(/still on the card/);
      expect(replyMs).to.be.below(DEFAULT_STORAGE_TIMEOUT_MS + 2_000);
    });

    it('answers a card action with a 503 error Teams can show, within its 5 s, leaving the card as it was', async () => {
      const started = performance.now();
      const { status, body } = await postActivity(bot.url, cardClick());
      const ms = performance.now() - started;
      console.log(`      card action: HTTP ${status} after ${Math.round(ms)} ms`);
      expect(status).to.equal(503);
      const answer = JSON.parse(body);
      expect(answer).to.include({ statusCode: 503, type: 'application/vnd.microsoft.error' });
      expect(answer.value.message).to.match(/cannot reach its storage/);
      expect(ms).to.be.below(TEAMS_INVOKE_LIMIT_MS);
    });

    it('reports storage down on /api/health with 503 within seconds', async () => {
      const started = performance.now();
      const response = await fetch(`${bot.url}/api/health`);
      const ms = performance.now() - started;
      console.log(`      health: HTTP ${response.status} after ${Math.round(ms)} ms`);
      expect(response.status).to.equal(503);
      expect(await response.json()).to.include({ status: 'unavailable' });
      expect(ms).to.be.below(5_000);
    });
  });

  describe('once Azurite answers again (SIGCONT)', () => {
    before(thaw);

    it('reports healthy and serves turns and card actions again', async () => {
      const health = await fetch(`${bot.url}/api/health`);
      expect(health.status).to.equal(200);

      const { reply } = await timedTurn(teamsActivity(connector, { text: 'my referrals', from: newcomer() }));
      expect(reply.activity.attachments?.[0]?.contentType).to.equal('application/vnd.microsoft.card.adaptive');

      // Storage answers again: a click on a card of no referral is told so (404), not that storage is down.
      const { status, body } = await postActivity(bot.url, cardClick());
      expect(status).to.equal(404);
      expect(JSON.parse(body).value.message).to.match(/does not match any referral/);
    });
  });
});
