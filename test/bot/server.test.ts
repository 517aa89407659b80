import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSignpost, RunningSignpost } from '../../bot/app/server';
import { createLogger, LogLevel } from '../../bot/app/log';
import { loadConfig, ConfigError } from '../../bot/app/config';
import { startAzurite } from '../../storage/azurite';
import { FakeConnector, postActivity, teamsActivity } from '../support/connector';

function captureLogger() {
  const lines: Array<{ level: LogLevel; entry: Record<string, unknown> }> = [];
  const logger = createLogger('debug', (line, level) => lines.push({ level, entry: JSON.parse(line) }));
  return { logger, lines };
}

const noSettings = { PATH: process.env.PATH } as NodeJS.ProcessEnv;

describe('Signpost server (embedded Azurite, real HTTP)', () => {
  let dataDir: string;
  let connector: FakeConnector;
  let bot: RunningSignpost;
  let logs: ReturnType<typeof captureLogger>;

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'signpost-server-'));
    connector = await FakeConnector.start();
    logs = captureLogger();
    bot = await startSignpost({ env: noSettings, port: 0, host: '127.0.0.1', dataDir, logger: logs.logger });
  });
  after(async () => {
    await bot?.stop();
    await connector?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  beforeEach(() => connector.clear());

  it('starts with no settings on the embedded storage and reports health ok', async () => {
    const response = await fetch(`${bot.url}/api/health`);
    expect(response.status).to.equal(200);
    const body = await response.json();
    expect(body).to.include({ name: 'signpost', status: 'ok', storage: 'ok', mode: 'local' });
    expect(body.version).to.match(/^\d+\.\d+\.\d+/);
  });

  it('warns exactly once that it runs unauthenticated in local mode @safety', () => {
    const warnings = logs.lines.filter((line) => line.entry.event === 'local-mode');
    expect(warnings).to.have.length(1);
    expect(warnings[0].level).to.equal('warn');
  });

  it('answers "help" with the welcome Adaptive Card listing the commands', async () => {
    const incoming = teamsActivity(connector, { text: 'help' });
    const { status } = await postActivity(bot.url, incoming);
    expect(status).to.equal(200);
    const reply = await connector.waitFor((a) => a.conversationId === incoming.conversation.id);
    const card = reply.activity.attachments[0];
    expect(card.contentType).to.equal('application/vnd.microsoft.card.adaptive');
    expect(card.content.version).to.equal('1.5');
    const text = JSON.stringify(card.content);
    expect(text).to.contain('Signpost').and.contain('help').and.contain('Hello Amira');
  });

  it('greets a user who installs the app in a personal chat', async () => {
    const incoming = teamsActivity(connector, {
      type: 'conversationUpdate',
      text: undefined,
      membersAdded: [{ id: '28:signpost-bot' }],
    });
    await postActivity(bot.url, incoming);
    const reply = await connector.waitFor((a) => a.conversationId === incoming.conversation.id);
    expect(JSON.stringify(reply.activity.attachments[0].content)).to.contain('Signpost');
  });

  it('does not greet a team every time a colleague joins it', async () => {
    const incoming = teamsActivity(connector, {
      type: 'conversationUpdate',
      conversation: { id: '19:channel@thread.tacv2', conversationType: 'channel' },
      membersAdded: [{ id: '29:new-colleague' }],
    });
    const { status } = await postActivity(bot.url, incoming);
    expect(status).to.equal(200);
    expect(connector.received).to.have.length(0);
  });

  it('answers unknown text helpfully and without logging what was typed @safety', async () => {
    const secret = 'Mrs Jane Example NHS 943 476 5919';
    const incoming = teamsActivity(connector, { text: secret });
    await postActivity(bot.url, incoming);
    const reply = await connector.waitFor((a) => a.conversationId === incoming.conversation.id);
    expect(reply.activity.text).to.match(/help/i);
    const everything = JSON.stringify(logs.lines);
    expect(everything).not.to.contain('Jane');
    // The number as typed and without spaces (a bare '943' could be part of a port in a log line).
    expect(everything).not.to.contain('943 476 5919');
    expect(everything).not.to.contain('9434765919');
  });

  it('survives a malformed request without crashing', async () => {
    const response = await fetch(`${bot.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"type": "message", ',
    });
    expect(response.status).to.be.within(400, 499);
    expect((await fetch(`${bot.url}/api/health`)).status).to.equal(200);
  });

  it('tells the user something went wrong, without internals, when a turn fails @safety', async () => {
    // The connector keeps rejecting the card reply (after the SDK's own retries), so the turn
    // throws inside the bot; the plain-text apology goes through.
    connector.respond = async (request) => {
      if (request.activity.attachments) {
        return { status: 500, body: { error: { code: 'ServiceError', message: 'internal detail xyz' } } };
      }
    };
    try {
      const incoming = teamsActivity(connector, { text: 'help' });
      await postActivity(bot.url, incoming);
      const apology = await connector.waitFor((a) => a.conversationId === incoming.conversation.id);
      expect(apology.activity.text).to.match(/something went wrong/i);
      expect(apology.activity.text).not.to.contain('xyz');
      const errorLog = logs.lines.find((line) => line.entry.event === 'turn-error');
      expect(errorLog?.level).to.equal('error');
      expect(JSON.stringify(errorLog)).not.to.contain('help');
    } finally {
      connector.respond = async () => undefined;
    }
  });
});

describe('Signpost server lifecycle', () => {
  it('keeps data across a restart on the same data folder', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'signpost-restart-'));
    const logger = createLogger('error', () => undefined);
    try {
      const first = await startSignpost({ env: noSettings, port: 0, host: '127.0.0.1', dataDir, logger });
      const table = await first.tables.table('restartcheck');
      await table.upsertEntity({ partitionKey: 'p', rowKey: 'r', note: 'still here' });
      await first.stop();

      const second = await startSignpost({ env: noSettings, port: 0, host: '127.0.0.1', dataDir, logger });
      try {
        const entity = await (await second.tables.table('restartcheck')).getEntity<{ note: string }>('p', 'r');
        expect(entity.note).to.equal('still here');
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('uses a storage connection string instead of starting Azurite, and reports 503 when storage is down', async () => {
    const external = await startAzurite();
    const logs = captureLogger();
    const bot = await startSignpost({
      env: { ...noSettings, SIGNPOST_STORAGE_CONNECTION_STRING: external.connectionString },
      port: 0,
      host: '127.0.0.1',
      logger: logs.logger,
    });
    try {
      expect(logs.lines.some((line) => line.entry.event === 'storage-external')).to.equal(true);
      expect(logs.lines.some((line) => line.entry.event === 'storage-embedded')).to.equal(false);
      expect((await fetch(`${bot.url}/api/health`)).status).to.equal(200);

      await external.stop();
      const response = await fetch(`${bot.url}/api/health`);
      expect(response.status).to.equal(503);
      const body = await response.json();
      expect(body.status).to.equal('unavailable');
      expect(body.storage).to.match(/^error: /);
    } finally {
      await bot.stop();
      await external.stop();
    }
  });

  it('finishes an in-flight turn before stopping', async () => {
    const connector = await FakeConnector.start();
    let releaseReply!: () => void;
    const replyHeld = new Promise<void>((resolve) => (releaseReply = resolve));
    let replyArrived!: () => void;
    const replyStarted = new Promise<void>((resolve) => (replyArrived = resolve));
    connector.respond = async () => {
      replyArrived();
      await replyHeld;
    };
    const bot = await startSignpost({
      env: noSettings,
      port: 0,
      host: '127.0.0.1',
      dataDir: mkdtempSync(path.join(tmpdir(), 'signpost-drain-')),
      logger: createLogger('error', () => undefined),
    });
    try {
      const turn = postActivity(bot.url, teamsActivity(connector, { text: 'help' }));
      await replyStarted;
      const stopped = bot.stop();
      releaseReply();
      const { status } = await turn;
      await stopped;
      expect(status).to.equal(200);
      expect(connector.received).to.have.length(1);
    } finally {
      await connector.stop();
    }
  });
});

describe('settings', () => {
  it('runs in local mode when MicrosoftAppId is empty', () => {
    const config = loadConfig(noSettings);
    expect(config.localMode).to.equal(true);
    expect(config.port).to.equal(3978);
  });

  it('refuses to start in production without credentials, naming each missing setting @safety', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).to.throw(
      ConfigError,
      /MicrosoftAppId, MicrosoftAppPassword, SIGNPOST_STORAGE_CONNECTION_STRING/,
    );
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        MicrosoftAppId: 'id',
        MicrosoftAppPassword: 'secret',
        MicrosoftAppType: 'SingleTenant',
        SIGNPOST_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
      }),
    ).to.throw(ConfigError, /MicrosoftAppTenantId/);
  });

  it('needs an https public address in production, and takes it without a trailing slash', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).to.throw(ConfigError, /SIGNPOST_PUBLIC_URL \(https\)/);
    expect(() => loadConfig({ NODE_ENV: 'production', SIGNPOST_PUBLIC_URL: 'http://signpost.example' })).to.throw(ConfigError, /SIGNPOST_PUBLIC_URL \(https\)/);
    expect(loadConfig({ SIGNPOST_PUBLIC_URL: 'https://signpost.example.nhs.uk/bot/' }).publicUrl).to.equal('https://signpost.example.nhs.uk/bot');
    expect(loadConfig(noSettings).publicUrl).to.equal('');
    expect(() => loadConfig({ SIGNPOST_PUBLIC_URL: 'javascript:alert(1)' })).to.throw(ConfigError, /SIGNPOST_PUBLIC_URL/);
    expect(loadConfig(noSettings).entraJwksUrl).to.equal('https://login.microsoftonline.com/common/discovery/v2.0/keys');
  });

  it('reads the matching settings, with the review defaults', () => {
    expect(loadConfig(noSettings)).to.include({ nearMissYears: 5, verificationMaxAgeDays: 90 });
    expect(loadConfig({ SIGNPOST_NEAR_MISS_YEARS: '3', SIGNPOST_VERIFICATION_MAX_AGE_DAYS: '30' })).to.include({
      nearMissYears: 3,
      verificationMaxAgeDays: 30,
    });
    expect(() => loadConfig({ SIGNPOST_NEAR_MISS_YEARS: '-1' })).to.throw(ConfigError, /SIGNPOST_NEAR_MISS_YEARS/);
  });

  it('reads the storage deadline, under the 5 s Teams gives a card action by default', () => {
    expect(loadConfig(noSettings).storageTimeoutMs).to.equal(4_000);
    expect(loadConfig({ SIGNPOST_STORAGE_TIMEOUT_MS: '2500' }).storageTimeoutMs).to.equal(2_500);
    expect(() => loadConfig({ SIGNPOST_STORAGE_TIMEOUT_MS: '0' })).to.throw(ConfigError, /SIGNPOST_STORAGE_TIMEOUT_MS/);
  });

  it('reads the retention period: 96 months (8 years) unless the organisation sets another', () => {
    expect(loadConfig(noSettings).retentionMonths).to.equal(96);
    expect(loadConfig({ SIGNPOST_RETENTION_MONTHS: '240' }).retentionMonths).to.equal(240);
    for (const bad of ['0', '-3', '12.5', 'eight years']) {
      expect(() => loadConfig({ SIGNPOST_RETENTION_MONTHS: bad }), bad).to.throw(ConfigError, /SIGNPOST_RETENTION_MONTHS/);
    }
    expect(loadConfig(noSettings).unfinishedFormDays).to.equal(30);
    expect(loadConfig({ SIGNPOST_UNFINISHED_FORM_DAYS: '7' }).unfinishedFormDays).to.equal(7);
    expect(() => loadConfig({ SIGNPOST_UNFINISHED_FORM_DAYS: '0' })).to.throw(ConfigError, /SIGNPOST_UNFINISHED_FORM_DAYS/);
  });

  it('rejects a malformed setting with its name', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).to.throw(ConfigError, /PORT/);
    expect(() => loadConfig({ MicrosoftAppType: 'Anything' })).to.throw(ConfigError, /MicrosoftAppType/);
  });
});
