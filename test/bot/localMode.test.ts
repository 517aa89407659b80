import { expect } from 'chai';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { startSignpost, RunningSignpost, SignpostOptions } from '../../bot/app/server';
import { createLogger, LogLevel } from '../../bot/app/log';
import { AGENTS_PLAYGROUND_TENANT, ConfigError, loadConfig } from '../../bot/app/config';
import { isLoopbackUrl, refuse } from '../../bot/teams/admission';
import { ServiceChannelRepository } from '../../storage/serviceChannelRepository';
import { ReferrerRepository } from '../../storage/referrerRepository';
import { ContactRepository } from '../../storage/contactRepository';
import { uniqueTableName } from '../support/azurite';
import { channelActivity, FakeConnector, postActivity, teamsActivity, TEST_TENANT } from '../support/connector';

/**
 * Local mode (no MicrosoftAppId) is unauthenticated: it must be reachable from this machine
 * only, call only a connector on this machine, and serve only the playground's tenant. With
 * authentication on, the tenant list still applies and a token that is no signed JWT is 401.
 */

const PATH_ONLY = { PATH: process.env.PATH } as NodeJS.ProcessEnv;
const OTHER_TENANT = '9d0c1b2a-0000-4000-8000-00000000beef';
const APP_ID = '6b1f0c3e-2d4a-4c5b-9e8f-7a6b5c4d3e2f';
const AUTHENTICATED = { ...PATH_ONLY, MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'not-a-real-secret', SIGNPOST_ALLOWED_TENANTS: TEST_TENANT };

function captureLogger() {
  const lines: Array<{ level: LogLevel; entry: Record<string, unknown> }> = [];
  const logger = createLogger('debug', (line, level) => lines.push({ level, entry: JSON.parse(line) }));
  return { logger, lines };
}

async function start(options: SignpostOptions = {}): Promise<{ bot: RunningSignpost; folder: string }> {
  const folder = mkdtempSync(path.join(tmpdir(), 'signpost-local-'));
  const bot = await startSignpost({ env: PATH_ONLY, port: 0, dataDir: folder, logger: createLogger('error', () => undefined), ...options });
  return { bot, folder };
}

async function stop(running: { bot: RunningSignpost; folder: string } | undefined): Promise<void> {
  await running?.bot.stop();
  if (running) rmSync(running.folder, { recursive: true, force: true });
}

/** An address of this machine that is not loopback: what another machine would connect to. */
function nonLoopbackIPv4(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((address) => address && address.family === 'IPv4' && !address.internal)?.address;
}

/** 'connected', or the error code of the attempt (ECONNREFUSED when nothing listens there). */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 5_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** The same activity as if it came from another organisation's Teams. */
function fromTenant(activity: Record<string, any>, tenant: string | undefined): Record<string, any> {
  const forged = { ...activity, conversation: { ...activity.conversation }, channelData: { ...activity.channelData } };
  if (tenant === undefined) {
    delete forged.conversation.tenantId;
    delete forged.channelData.tenant;
  } else {
    forged.conversation.tenantId = tenant;
    forged.channelData.tenant = { id: tenant };
  }
  return forged;
}

function postWithAuthorization(url: string, activity: Record<string, any>, authorization?: string): Promise<Response> {
  return fetch(`${url}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(activity),
  });
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('Local mode listens on this machine only', () => {
  it('refuses a connection to a non-loopback address of this machine, and accepts 127.0.0.1 @safety', async function () {
    const address = nonLoopbackIPv4();
    if (!address) {
      this.test!.title += ' (skipped: this machine has no non-loopback IPv4 address to try)';
      this.skip();
    }
    const running = await start();
    try {
      expect(running.bot.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await tryConnect('127.0.0.1', running.bot.port)).to.equal('connected');
      expect((await fetch(`${running.bot.url}/api/health`)).status).to.equal(200);
      expect(await tryConnect(address!, running.bot.port)).to.equal('ECONNREFUSED');
    } finally {
      await stop(running);
    }
  });

  it('still lets an explicit host option choose the interface', async function () {
    const running = await start({ host: '::1' }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRNOTAVAIL' || error.code === 'EAFNOSUPPORT') return undefined;
      throw error;
    });
    if (!running) {
      this.test!.title += ' (skipped: this machine has no IPv6 loopback)';
      this.skip();
    }
    try {
      expect(running!.bot.url).to.match(/^http:\/\/\[::1\]:\d+$/);
      expect(await tryConnect('::1', running!.bot.port)).to.equal('connected');
      expect(await tryConnect('127.0.0.1', running!.bot.port)).to.equal('ECONNREFUSED');
    } finally {
      await stop(running);
    }
  });

  it('listens on every interface when authenticated, unless SIGNPOST_HOST says otherwise', async function () {
    const address = nonLoopbackIPv4();
    if (!address) {
      this.test!.title += ' (skipped: this machine has no non-loopback IPv4 address to try)';
      this.skip();
    }
    const everywhere = await start({ env: AUTHENTICATED });
    try {
      expect(await tryConnect(address!, everywhere.bot.port)).to.equal('connected');
    } finally {
      await stop(everywhere);
    }
    const loopbackOnly = await start({ env: { ...AUTHENTICATED, SIGNPOST_HOST: '127.0.0.1' } });
    try {
      expect(await tryConnect('127.0.0.1', loopbackOnly.bot.port)).to.equal('connected');
      expect(await tryConnect(address!, loopbackOnly.bot.port)).to.equal('ECONNREFUSED');
    } finally {
      await stop(loopbackOnly);
    }
  });

  it('refuses to start unauthenticated on an interface other machines can reach @safety', () => {
    expect(loadConfig(PATH_ONLY).host).to.equal('127.0.0.1');
    expect(loadConfig({ ...PATH_ONLY, SIGNPOST_HOST: '::1' }).host).to.equal('::1');
    for (const host of ['0.0.0.0', '::', '192.0.2.10']) {
      expect(() => loadConfig({ ...PATH_ONLY, SIGNPOST_HOST: host }), host).to.throw(ConfigError, /SIGNPOST_HOST/);
    }
    expect(loadConfig(AUTHENTICATED).host).to.equal('');
    expect(loadConfig({ ...AUTHENTICATED, SIGNPOST_HOST: '10.0.0.4' }).host).to.equal('10.0.0.4');
  });
});

describe('Tenants (SIGNPOST_ALLOWED_TENANTS)', () => {
  let connector: FakeConnector;
  let running: { bot: RunningSignpost; folder: string };
  let logs: ReturnType<typeof captureLogger>;
  const team = '19:sail-team@thread.tacv2';
  const channel = '19:sail-referrals@thread.tacv2';

  before(async () => {
    connector = await FakeConnector.start();
    logs = captureLogger();
    running = await start({ logger: logs.logger });
  });
  after(async () => {
    await stop(running);
    await connector?.stop();
  });
  beforeEach(() => connector.clear());

  it('defaults, in local mode, to the Agents Playground tenant of .m365agentsplayground.yml', () => {
    const yml = readFileSync(path.resolve(__dirname, '../../../.m365agentsplayground.yml'), 'utf8');
    expect(/^tenantId:\s*(\S+)\s*$/m.exec(yml)?.[1]).to.equal(AGENTS_PLAYGROUND_TENANT);
    expect(loadConfig(PATH_ONLY).allowedTenants).to.deep.equal([AGENTS_PLAYGROUND_TENANT]);
    expect(loadConfig({ SIGNPOST_ALLOWED_TENANTS: ` ${OTHER_TENANT.toUpperCase()} ,, ${TEST_TENANT}` }).allowedTenants).to.deep.equal([
      OTHER_TENANT,
      TEST_TENANT,
    ]);
  });

  it('is required with authentication, and holds tenant ids only @safety', () => {
    const production = {
      NODE_ENV: 'production',
      MicrosoftAppId: APP_ID,
      MicrosoftAppPassword: 'secret',
      SIGNPOST_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
      SIGNPOST_PUBLIC_URL: 'https://signpost.example.nhs.uk',
      SIGNPOST_LINK_SECRET: 'a-test-secret-for-signing-email-links-0123456789',
    };
    expect(() => loadConfig(production)).to.throw(ConfigError, /Refusing to start in production without these settings: SIGNPOST_ALLOWED_TENANTS\./);
    expect(loadConfig({ ...production, SIGNPOST_ALLOWED_TENANTS: OTHER_TENANT }).allowedTenants).to.deep.equal([OTHER_TENANT]);
    expect(() => loadConfig({ MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'secret' })).to.throw(ConfigError, /SIGNPOST_ALLOWED_TENANTS/);
    expect(() => loadConfig({ SIGNPOST_ALLOWED_TENANTS: 'contoso.onmicrosoft.com' })).to.throw(ConfigError, /SIGNPOST_ALLOWED_TENANTS/);
  });

  it('answers 403 to a forged unlink and link from another tenant, and changes nothing @safety', async () => {
    const links = new ServiceChannelRepository(running.bot.tables);
    const say = (text: string, where = { team, channel }) => channelActivity(connector, where, { text, from: { id: '29:kwame', name: 'Kwame Mensah' } });
    const linked = say('link sail');
    expect((await postActivity(running.bot.url, linked)).status).to.equal(200);
    await connector.waitFor((a) => a.activity.replyToId === linked.id);
    const before = await links.forService('sail');
    expect(before?.channelId).to.equal(channel);
    connector.clear();

    const intruder = { team: '19:elsewhere@thread.tacv2', channel: '19:elsewhere-general@thread.tacv2' };
    const forged = [
      fromTenant(say('unlink'), OTHER_TENANT),
      fromTenant(say('link sail', intruder), OTHER_TENANT),
      fromTenant(say('link wellbeing-hub', intruder), OTHER_TENANT),
      // No tenant at all, and a tenant that disagrees with itself.
      fromTenant(say('unlink'), undefined),
      { ...say('unlink'), conversation: { ...say('unlink').conversation, tenantId: OTHER_TENANT } },
    ];
    for (const activity of forged) {
      const { status, body } = await postActivity(running.bot.url, activity);
      expect(status, activity.text).to.equal(403);
      expect(body).to.contain('does not serve this organisation');
    }

    expect(await links.forService('sail')).to.deep.equal(before);
    expect(await links.forChannel(intruder.channel)).to.equal(undefined);
    expect(await links.forService('wellbeing-hub')).to.equal(undefined);
    expect(connector.received).to.have.length(0);

    const refusals = logs.lines.filter((line) => line.entry.event === 'activity-refused');
    expect(refusals).to.have.length(forged.length);
    expect(refusals.every((line) => line.level === 'warn' && line.entry.reason === 'tenant-not-allowed')).to.equal(true);
    expect(refusals[0].entry.tenantId).to.equal(OTHER_TENANT);
    const logged = JSON.stringify(refusals);
    expect(logged).not.to.contain('Kwame').and.not.to.contain('29:kwame').and.not.to.contain('link');
  });

  it('compares tenant ids without regard to case', () => {
    const config = { localMode: true, allowedTenants: [TEST_TENANT] };
    const activity = { serviceUrl: 'http://127.0.0.1:1/', conversation: { tenantId: TEST_TENANT.toUpperCase() }, channelData: { tenant: { id: TEST_TENANT } } };
    expect(refuse(config, activity, undefined)).to.equal(undefined);
    expect(refuse(config, { ...activity, channelData: { tenant: { id: 42 } } }, undefined)?.status).to.equal(403);
  });
});

describe('serviceUrl: local mode calls only this machine, and stored conversations follow Teams', () => {
  let connector: FakeConnector;
  let moved: FakeConnector;
  let running: { bot: RunningSignpost; folder: string };

  before(async () => {
    connector = await FakeConnector.start();
    moved = await FakeConnector.start();
    running = await start();
  });
  after(async () => {
    await stop(running);
    await connector?.stop();
    await moved?.stop();
  });
  beforeEach(() => {
    connector.clear();
    moved.clear();
  });

  it('accepts only loopback serviceUrls in local mode @safety', () => {
    for (const url of ['http://127.0.0.1:56150/_connector', 'http://localhost:3978/', 'http://[::1]:80/', 'https://LOCALHOST/']) {
      expect(isLoopbackUrl(url), url).to.equal(true);
    }
    for (const url of [
      'https://smba.trafficmanager.net/emea/',
      'http://192.0.2.2:3978/',
      'http://localhost@evil.example/',
      'http://127.0.0.1.evil.example/',
      'ftp://localhost/',
      'not a url',
      undefined,
    ]) {
      expect(isLoopbackUrl(url), String(url)).to.equal(false);
    }
  });

  it('answers 403 to an activity whose serviceUrl is another machine, and stores nothing from it @safety', async () => {
    const from = { id: '29:someone-far', name: 'Someone Far' };
    for (const serviceUrl of ['https://smba.trafficmanager.net/emea/', 'http://192.0.2.2:3978/', 'http://localhost@evil.example/', undefined]) {
      const activity = { ...teamsActivity(connector, { text: 'notify teams', from }), serviceUrl };
      const { status } = await postActivity(running.bot.url, activity);
      expect(status, String(serviceUrl)).to.equal(403);
    }
    expect(await new ContactRepository(running.bot.tables).byTeamsId(from.id)).to.equal(undefined);
    expect(await new ReferrerRepository(running.bot.tables).get(from.id)).to.equal(undefined);
  });

  it('stores the new serviceUrl when a channel is linked again', async () => {
    const where = { team: '19:team-relink@thread.tacv2', channel: '19:relink@thread.tacv2' };
    const first = channelActivity(connector, where, { text: 'link alzheimers-society' });
    await postActivity(running.bot.url, first);
    await connector.waitFor((a) => a.activity.replyToId === first.id);
    const links = new ServiceChannelRepository(running.bot.tables);
    expect((await links.forChannel(where.channel))?.conversation.serviceUrl).to.equal(connector.url);

    const again = channelActivity(moved, where, { text: 'link alzheimers-society' });
    expect((await postActivity(running.bot.url, again)).status).to.equal(200);
    const reply = await moved.waitFor((a) => a.activity.replyToId === again.id);
    expect(reply.activity.text).to.contain('now receives referrals');
    // What storage holds now (a new repository: `links` keeps what it read a moment ago for a few seconds).
    const fresh = new ServiceChannelRepository(running.bot.tables);
    expect((await fresh.forChannel(where.channel))?.conversation.serviceUrl).to.equal(moved.url);
    expect((await fresh.forService('alzheimers-society'))?.conversation.serviceUrl).to.equal(moved.url);
  });

  it('moves a referrer\'s and a contact\'s stored chat to the serviceUrl Teams sends now', async () => {
    const from = { id: '29:priya-shah', name: 'Priya Shah' };
    const conversation = { id: 'a:priya-personal', conversationType: 'personal' };
    const first = teamsActivity(connector, { text: 'notify teams', from, conversation });
    await postActivity(running.bot.url, first);
    await connector.waitFor((a) => a.activity.replyToId === first.id);
    const referrers = new ReferrerRepository(running.bot.tables);
    const contacts = new ContactRepository(running.bot.tables);
    expect((await referrers.get(from.id))?.conversation?.serviceUrl).to.equal(connector.url);
    expect((await contacts.byTeamsId(from.id))?.personalConversation?.serviceUrl).to.equal(connector.url);

    const later = teamsActivity(moved, { text: 'help', from, conversation });
    await postActivity(running.bot.url, later);
    await moved.waitFor((a) => a.activity.replyToId === later.id);
    // A new repository: `referrers` keeps what it read a moment ago for a few seconds.
    expect((await new ReferrerRepository(running.bot.tables).get(from.id))?.conversation?.serviceUrl).to.equal(moved.url);
    expect((await contacts.byTeamsId(from.id))?.personalConversation?.serviceUrl).to.equal(moved.url);
  });

  it('repositories move only the conversation that moved', async () => {
    const tables = running.bot.tables;
    const reference = (id: string, serviceUrl: string) => ({ serviceUrl, channelId: 'msteams', conversation: { id } });

    const links = new ServiceChannelRepository(tables, uniqueTableName('links'));
    const link = { serviceId: 'sail', channelId: '19:c', teamId: '19:t', conversation: reference('19:c', 'http://127.0.0.1:1/'), linkedBy: { id: '29:k' }, linkedAt: 'then' };
    await links.link(link);
    const relinked = await links.link({ ...link, conversation: reference('19:c', 'http://127.0.0.1:2/'), linkedBy: { id: '29:other' }, linkedAt: 'now' });
    expect(relinked).to.deep.include({ ok: true });
    expect(await links.forChannel('19:c')).to.deep.equal({ ...link, conversation: reference('19:c', 'http://127.0.0.1:2/') });
    expect((await links.forService('sail'))?.conversation.serviceUrl).to.equal('http://127.0.0.1:2/');
    expect(await links.refreshServiceUrl('19:not-linked', 'http://127.0.0.1:3/')).to.equal(undefined);

    const referrers = new ReferrerRepository(tables, uniqueTableName('referrers'));
    const profile = { teamsUserId: '29:r', name: 'R', email: '', practice: '', updatedAt: 'then', conversation: reference('19:group', 'http://127.0.0.1:1/'), personalConversation: reference('a:1to1', 'http://127.0.0.1:1/') };
    await referrers.save(profile);
    expect(await referrers.refreshServiceUrl('29:r', 'a:1to1', 'http://127.0.0.1:1/')).to.equal(false);
    expect(await referrers.refreshServiceUrl('29:r', 'a:1to1', 'http://127.0.0.1:2/')).to.equal(true);
    expect(await referrers.get('29:r')).to.deep.equal({ ...profile, personalConversation: reference('a:1to1', 'http://127.0.0.1:2/') });
    expect(await referrers.refreshServiceUrl('29:nobody', 'a:1to1', 'http://127.0.0.1:2/')).to.equal(false);

    const contacts = new ContactRepository(tables, uniqueTableName('contacts'));
    await contacts.remember({ teamsUserId: '29:c', email: 'c@example.org', personalConversation: reference('a:c', 'http://127.0.0.1:1/'), updatedAt: 'then' });
    expect(await contacts.refreshServiceUrl('29:c', 'a:other', 'http://127.0.0.1:2/', 'now')).to.equal(false);
    expect(await contacts.refreshServiceUrl('29:c', 'a:c', 'http://127.0.0.1:2/', 'now')).to.equal(true);
    expect((await contacts.byEmail('c@example.org'))?.personalConversation).to.deep.equal(reference('a:c', 'http://127.0.0.1:2/'));
  });
});

describe('Authenticated mode refuses what it cannot verify', () => {
  let connector: FakeConnector;
  let running: { bot: RunningSignpost; folder: string };
  let logs: ReturnType<typeof captureLogger>;

  before(async () => {
    connector = await FakeConnector.start();
    logs = captureLogger();
    // MicrosoftAppId and password set, NODE_ENV unset: authenticated, not production.
    running = await start({ env: AUTHENTICATED, host: '127.0.0.1', logger: logs.logger });
  });
  after(async () => {
    await stop(running);
    await connector?.stop();
  });

  it('answers 401, not 500, to a missing, malformed or unsigned token, and stores no serviceUrl from it @safety', async () => {
    expect(running.bot.config.localMode).to.equal(false);
    const where = { team: '19:team-auth@thread.tacv2', channel: '19:auth@thread.tacv2' };
    const links = new ServiceChannelRepository(running.bot.tables);
    const trusted = 'https://smba.trafficmanager.net/emea/';
    await links.link({
      serviceId: 'sail',
      channelId: where.channel,
      teamId: where.team,
      conversation: { serviceUrl: trusted, channelId: 'msteams', conversation: { id: where.channel } },
      linkedBy: { id: '29:kwame' },
      linkedAt: '2026-11-24T12:00:00.000Z',
    });

    const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ iss: 'https://api.botframework.com', aud: APP_ID, serviceurl: connector.url, exp: 4102444800 })}.`;
    const noKey = `${base64url({ alg: 'RS256', typ: 'JWT' })}.${base64url({ aud: APP_ID })}.c2lnbmF0dXJl`;
    for (const authorization of [undefined, `Bearer ${unsigned}`, 'Bearer garbage', 'garbage', 'Bearer a.b.c', `Bearer ${noKey}`, 'Basic dXNlcjpwYXNz']) {
      const activity = channelActivity(connector, where, { text: 'link sail', from: { id: '29:forger', name: 'Forger' } });
      const response = await postWithAuthorization(running.bot.url, activity, authorization);
      expect(response.status, String(authorization)).to.equal(401);
      expect(await response.text()).not.to.contain('botframework.com');
    }

    expect((await links.forChannel(where.channel))?.conversation.serviceUrl).to.equal(trusted);
    expect(await new ContactRepository(running.bot.tables).byTeamsId('29:forger')).to.equal(undefined);
    expect(connector.received).to.have.length(0);
    expect(logs.lines.filter((line) => line.entry.reason === 'token-malformed')).to.have.length(7);
  });
});

describe('Settings that cannot be misread', () => {
  const complete = {
    MicrosoftAppId: APP_ID,
    MicrosoftAppPassword: 'secret',
    SIGNPOST_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
    SIGNPOST_ALLOWED_TENANTS: TEST_TENANT,
    SIGNPOST_PUBLIC_URL: 'https://signpost.example.nhs.uk',
    SIGNPOST_LINK_SECRET: 'a-test-secret-for-signing-email-links-0123456789',
  };

  it('reads NODE_ENV=production whatever its case and spacing @safety', () => {
    for (const value of ['Production', 'PRODUCTION', ' production ']) {
      expect(() => loadConfig({ NODE_ENV: value }), value).to.throw(ConfigError, /Refusing to start in production without these settings: MicrosoftAppId/);
      expect(loadConfig({ ...complete, NODE_ENV: value }).production, value).to.equal(true);
    }
    expect(loadConfig({ ...complete, NODE_ENV: 'development' }).production).to.equal(false);
  });

  it('counts a blank or whitespace-only MicrosoftAppId or MicrosoftAppPassword as missing', () => {
    expect(() => loadConfig({ ...complete, NODE_ENV: 'production', MicrosoftAppId: '   ', MicrosoftAppPassword: ' \t\n' })).to.throw(
      ConfigError,
      /without these settings: MicrosoftAppId, MicrosoftAppPassword\./,
    );
    expect(() => loadConfig({ ...complete, NODE_ENV: 'production', MicrosoftAppPassword: '  ' })).to.throw(ConfigError, /MicrosoftAppPassword/);
    expect(loadConfig({ MicrosoftAppId: ' \t ' }).localMode).to.equal(true);
    expect(loadConfig({ ...complete, MicrosoftAppPassword: '  ' }).auth.MicrosoftAppPassword).to.equal('');
  });
});
