import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSignpost, RunningSignpost } from '../../bot/app/server';
import { createLogger } from '../../bot/app/log';
import { playgroundPeople } from '../../bot/tab/tabPeople';
import type { Referral } from '../../domain/referral/referral';
import { sampleReferral } from '../support/fixtures';
import { channelActivity, FakeConnector, postActivity } from '../support/connector';

/**
 * The tab's API in local mode, through the real server: each role sees only what it may, and
 * an action from the tab goes through the application layer like a card click.
 */

const people = Object.fromEntries(playgroundPeople().map((person) => [person.name, person]));
const AMIRA = people['Amira Patel']; // referrer
const PRIYA = people['Priya Shah']; // another referrer
const KWAME = people['Kwame Mensah']; // SAIL link worker
const GRACE = people['Grace Okoro']; // SAIL link worker
const HELEN = people['Helen Price']; // SAIL supervisor
const SAM = people['Dr Sam Okafor']; // commissioner, for this test

const SAIL = { team: '19:sail-team@thread.tacv2', channel: '19:sail-referrals@thread.tacv2' };
const NAVIGATION = { team: '19:navigation-team@thread.tacv2', channel: '19:navigation@thread.tacv2' };
const at = '2026-11-24T12:00:00.000Z';

const rosterEntry = (person: typeof KWAME) => ({ id: person.id, name: person.name, email: person.email, aadObjectId: person.aadObjectId });

describe('The tab API (local mode)', () => {
  let folder: string;
  let connector: FakeConnector;
  let bot: RunningSignpost;

  before(async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'signpost-tab-'));
    connector = await FakeConnector.start();
    connector.members = [rosterEntry(KWAME), rosterEntry(GRACE)];
    // Another service's team, which Kwame is not in.
    const navigationTeam = [{ id: '29:navigator', name: 'Nia Navigator', email: 'nia@navigation.example', aadObjectId: '00000000-0000-0000-0000-00000000beef' }];
    connector.membersByConversation = { [NAVIGATION.channel]: navigationTeam, [`${NAVIGATION.channel};messageid=1`]: navigationTeam };
    bot = await startSignpost({
      env: { PATH: process.env.PATH, SIGNPOST_COMMISSIONERS: SAM.email },
      port: 0,
      host: '127.0.0.1',
      dataDir: folder,
      logger: createLogger('error', () => undefined),
    });
    await postActivity(bot.url, channelActivity(connector, SAIL, { type: 'message', text: 'link sail', from: { id: KWAME.id, name: KWAME.name } }));
    await postActivity(bot.url, channelActivity(connector, NAVIGATION, { type: 'message', text: 'link sail-care-navigation', from: { id: '29:navigator', name: 'Nia Navigator' } }));
    expect((await bot.signpost.store.channelLinks.list()).map((link) => link.serviceId).sort()).to.deep.equal(['sail', 'sail-care-navigation']);
    await bot.signpost.store.supervisors.save({ serviceId: 'sail', email: HELEN.email!, name: HELEN.name, role: 'host-organisation', addedBy: { id: KWAME.id }, addedAt: at });
  });
  after(async () => {
    await bot?.stop();
    await connector?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  async function newReferral(reference: string, overrides: Partial<Referral> = {}): Promise<Referral> {
    const referral = sampleReferral({
      reference,
      referrer: { teamsUserId: AMIRA.id, name: AMIRA.name, email: AMIRA.email!, practice: 'Lordship Lane Surgery' },
      referrerConversation: { serviceUrl: connector.url, channelId: 'msteams', conversation: { id: 'a:amira-chat' } },
      ...overrides,
    });
    await bot.signpost.store.referrals.submit(referral, { referralId: referral.id, at, actor: { id: AMIRA.id }, action: 'referral.submitted', detail: { serviceId: referral.serviceId, summary: `Referred by ${AMIRA.name}` } });
    return referral;
  }

  async function call(person: { id: string } | undefined, route: string, body?: unknown): Promise<{ status: number; json: any; headers: Headers; text: string }> {
    const response = await fetch(`${bot.url}${route}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { ...(person ? { 'x-signpost-local-person': person.id } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, json, headers: response.headers, text };
  }

  it('serves the page and its bundle with a strict CSP that lets Teams frame it', async () => {
    const page = await call(undefined, '/tab');
    expect(page.status).to.equal(200);
    expect(page.headers.get('content-type')).to.match(/text\/html/);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).to.contain("default-src 'none'").and.contain("script-src 'self'").and.contain('frame-ancestors').and.contain('https://teams.microsoft.com');
    expect(csp).not.to.contain('unsafe-inline');
    expect(page.text).to.contain('/tab/assets/tab.js').and.not.contain('<script>');
    const bundle = await call(undefined, '/tab/assets/tab.js');
    expect(bundle.status).to.equal(200);
    expect(bundle.headers.get('content-type')).to.match(/javascript/);
    expect(bundle.text.length).to.be.greaterThan(10_000); // teams-js is in the bundle, not fetched
    expect((await call(undefined, '/tab/assets/..%2F..%2Fpackage.json')).status).to.equal(404);
  });

  it('refuses an API call that names nobody, or somebody not in the playground', async () => {
    expect((await call(undefined, '/api/tab/me')).status).to.equal(401);
    expect((await call({ id: '29:somebody-else' }, '/api/tab/me')).status).to.equal(401);
    const listed = await call(undefined, '/api/tab/people');
    expect(listed.json.people.map((person: { name: string }) => person.name)).to.include.members(['Amira Patel', 'Kwame Mensah']);
  });

  it('gives each person the views of their roles', async () => {
    expect((await call(KWAME, '/api/tab/me')).json).to.deep.include({ linkWorkerOf: [{ id: 'sail', name: (await bot.signpost.store.directory.get('sail'))!.name }], supervisorOf: [], boroughReport: false });
    expect((await call(AMIRA, '/api/tab/me')).json).to.deep.include({ linkWorkerOf: [], supervisorOf: [], boroughReport: false });
    expect((await call(HELEN, '/api/tab/me')).json.supervisorOf.map((service: { id: string }) => service.id)).to.deep.equal(['sail']);
    expect((await call(SAM, '/api/tab/me')).json.boroughReport).to.equal(true);
  });

  it("shows a link worker their service's caseload, and refuses another service's with 403", async () => {
    const referral = await newReferral('SP-2026-000701');
    const caseload = await call(KWAME, '/api/tab/services/sail/caseload');
    expect(caseload.status).to.equal(200);
    const item = caseload.json.referrals.find((entry: { id: string }) => entry.id === referral.id);
    expect(item).to.include({ reference: 'SP-2026-000701', initials: 'J.E.', statusLabel: 'New' });
    // The caseload names nobody: no name, NHS number, date of birth, postcode or phone.
    for (const identifier of ['Jane', 'Example', '9434765919', '1950-03-14', 'SE5 8AU', '020 7946 0000']) expect(caseload.text).not.to.contain(identifier);
    expect((await call(KWAME, '/api/tab/services/sail-care-navigation/caseload')).status).to.equal(403);
    expect((await call(AMIRA, '/api/tab/services/sail/caseload')).status).to.equal(403);
    expect((await call(KWAME, '/api/tab/services/sail/caseload?filter=everything')).status).to.equal(400);
    expect((await call(KWAME, '/api/tab/services/..%2Fsail/caseload')).status).to.be.oneOf([400, 404]);
  });

  it('lets a referrer see their own referral and its timeline, and answers 404 for anyone else’s', async () => {
    const referral = await newReferral('SP-2026-000702');
    const mine = await call(AMIRA, '/api/tab/my-referrals');
    const listed = mine.json.referrals.find((entry: { id: string }) => entry.id === referral.id);
    expect(listed).to.include({ reference: 'SP-2026-000702', initials: 'J.E.' });
    expect(listed.timeline.map((entry: { what: string }) => entry.what)).to.deep.equal([`Referred by ${AMIRA.name}`]);
    expect((await call(AMIRA, `/api/tab/referrals/${referral.id}`)).json.view).to.equal('referrer');
    expect((await call(PRIYA, '/api/tab/my-referrals')).json.referrals).to.deep.equal([]);
    const other = await call(PRIYA, `/api/tab/referrals/${referral.id}`);
    const missing = await call(PRIYA, '/api/tab/referrals/00000000-0000-4000-8000-000000000000');
    expect([other.status, missing.status]).to.deep.equal([404, 404]);
    expect(other.json).to.deep.equal(missing.json); // no hint that it exists
  });

  it('takes an action through the application layer: audited as from the tab, a stale version changes nothing', async () => {
    const referral = await newReferral('SP-2026-000703');
    const opened = await call(KWAME, `/api/tab/referrals/${referral.id}`);
    expect(opened.json).to.include({ view: 'service', version: 1 });
    expect(opened.json.may).to.include.members(['accept', 'assign', 'decline']);
    expect(opened.json.facts.map((fact: { label: string }) => fact.label)).to.include.members(['Age', 'Area', 'Needs']);

    const accepted = await call(KWAME, `/api/tab/referrals/${referral.id}/actions`, { version: 1, action: { verb: 'accept' } });
    expect(accepted.status).to.equal(200);
    expect(accepted.json).to.include({ kind: 'changed', version: 2 });
    const stored = (await bot.signpost.store.referrals.get(referral.id))!.referral;
    // The tab user acts as their Teams self: the owner is the same person a card click would make.
    expect(stored).to.deep.include({ status: 'accepted', version: 2 });
    expect(stored.owner).to.deep.include({ id: KWAME.id, name: KWAME.name });
    const audit = await bot.signpost.store.referrals.audit(referral.id);
    expect(audit.at(-1)).to.deep.include({ action: 'referral.accept' });
    expect(audit.at(-1)!.detail).to.include({ via: 'tab' });

    const stale = await call(GRACE, `/api/tab/referrals/${referral.id}/actions`, { version: 1, action: { verb: 'decline', reason: 'no-capacity' } });
    expect(stale.json.kind).to.equal('stale');
    expect((await bot.signpost.store.referrals.get(referral.id))!.referral.status).to.equal('accepted');

    // Not a link worker: refused as if there were no such referral; nothing changes.
    expect((await call(PRIYA, `/api/tab/referrals/${referral.id}/actions`, { version: 2, action: { verb: 'close', reason: 'completed' } })).status).to.equal(404);
    // Bad input is refused before anything is read.
    expect((await call(KWAME, `/api/tab/referrals/${referral.id}/actions`, { version: 2, action: { verb: 'close', reason: 'bored' } })).status).to.equal(400);
    expect((await call(KWAME, `/api/tab/referrals/${referral.id}/actions`, { version: 2, action: { verb: 'accept' }, extra: true })).status).to.equal(400);
    expect((await bot.signpost.store.referrals.get(referral.id))!.referral.version).to.equal(2);

    const mine = await call(KWAME, '/api/tab/services/sail/caseload?filter=mine');
    expect(mine.json.referrals.map((entry: { id: string }) => entry.id)).to.include(referral.id);
    const unassigned = await call(GRACE, '/api/tab/services/sail/caseload?filter=unassigned');
    expect(unassigned.json.referrals.map((entry: { id: string }) => entry.id)).not.to.include(referral.id);
  });

  it("shows a supervisor their service's dashboard, and nobody else", async () => {
    const dashboard = await call(HELEN, '/api/tab/services/sail/dashboard');
    expect(dashboard.status).to.equal(200);
    expect(dashboard.json.openByStatus.map((entry: { label: string }) => entry.label)).to.include.members(['New', 'Accepted']);
    expect(dashboard.json.breaches.map((entry: { rule: string }) => entry.rule)).to.deep.equal(['accept-reminder', 'accept-escalation', 'first-contact', 'engagement-review']);
    expect(dashboard.json.escalations).to.deep.equal({ open: 0, answered: 0 });
    expect((await call(KWAME, '/api/tab/services/sail/dashboard')).status).to.equal(403);
    expect((await call(HELEN, '/api/tab/services/sail-care-navigation/dashboard')).status).to.equal(403);
  });

  it('gives commissioners the borough report in aggregates only, with a CSV, and nobody else', async () => {
    await bot.signpost.dispatcher.caughtUp(); // the changes' counts, queued with them, are done
    const report = await call(SAM, '/api/tab/report?year=2026');
    expect(report.status).to.equal(200);
    const row = report.json.rows.find((entry: { serviceId: string }) => entry.serviceId === 'sail');
    expect(row).to.include({ month: '2026-11', practice: 'Lordship Lane Surgery', made: '<5', accepted: '<5' });
    for (const identifier of ['Jane', 'J.E.', 'SP-2026-', AMIRA.name, KWAME.name]) expect(report.text).not.to.contain(identifier);
    const csv = await call(SAM, '/api/tab/report.csv?year=2026');
    expect(csv.headers.get('content-type')).to.match(/text\/csv/);
    expect(csv.text.split('\r\n')[0]).to.match(/^month,service,practice,made,accepted/);
    expect(csv.text).to.contain('2026-11,sail,Lordship Lane Surgery,<5,<5');
    expect((await call(KWAME, '/api/tab/report?year=2026')).status).to.equal(403);
    expect((await call(HELEN, '/api/tab/report.csv?year=2026')).status).to.equal(403);
    expect((await call(SAM, '/api/tab/report?year=nineteen')).status).to.equal(400);
  });
});
