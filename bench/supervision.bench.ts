import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { startAzurite } from '../storage/azurite';
import { TableConnection } from '../storage/tables';
import { southwarkDirectory } from '../domain/directory/southwark';
import { Referral } from '../domain/referral/referral';
import { DEFAULT_SUPERVISION, referralTimers, Timer } from '../domain/supervision/policy';
import { createLogger } from '../bot/app/log';
import { loadConfig } from '../bot/app/config';
import { createSignpost } from '../bot/app/signpost';

/**
 * One supervision sweep over a realistic store: BENCH_REFERRALS open referrals (100,000 by
 * default) in the referrals table, each with its next clock in the timers table, of which 100
 * are due now (referrals nobody has accepted for 3 working days). Reports the sweep's time and
 * its storage requests: it should read the 100 due timers and those 100 referrals, not the rest.
 * Storage is an in-memory Azurite on loopback, so times include real HTTP round trips.
 */
export interface SupervisionBenchResult {
  name: string;
  referrals: number;
  timers: number;
  due: number;
  setupSeconds: number;
  sweepMs: number;
  fired: number;
  queued: number;
  timerRowsRead: number;
  storageRequests: number;
  storageReads: number;
  idleSweepMs: number;
  idleSweepRequests: number;
}

const NOW = new Date('2026-11-24T11:00:00Z'); // a Tuesday, 11:00 in London
const DUE = 100;
const CONCURRENCY = 48;

export async function run(): Promise<SupervisionBenchResult> {
  const total = Number(process.env.BENCH_REFERRALS ?? 100_000);
  const azurite = await startAzurite();
  let counting = false;
  const requests = { all: 0, reads: 0 };
  const tables = new TableConnection(azurite.connectionString, {
    observe: ({ method }) => {
      if (!counting) return;
      requests.all += 1;
      if (method === 'GET') requests.reads += 1;
    },
  });
  try {
    const setupStarted = performance.now();
    // Built by the composition root, as the server builds it; nothing is sent, so no connector.
    const signpost = createSignpost({
      config: loadConfig({ SIGNPOST_ADMINS: 'admin@example.org' }),
      tables,
      logger: createLogger('error', () => undefined),
      now: () => NOW,
    });
    const { directory, channelLinks, timers } = signpost.store;
    await directory.seedIfEmpty(southwarkDirectory());
    await channelLinks.link({
      serviceId: 'sail',
      channelId: '19:bench@thread.tacv2',
      teamId: '19:team@thread.tacv2',
      conversation: { serviceUrl: 'http://127.0.0.1:1/', channelId: 'msteams', conversation: { id: '19:bench@thread.tacv2' } },
      linkedBy: { id: '29:bench' },
      linkedAt: NOW.toISOString(),
    });
    const calendar = signpost.supervision.calendar;
    const recordTable = await tables.table('referrals');

    // Referrals: 100 submitted three working days ago (due), the rest accepted within 12 weeks (not due).
    const threeWorkingDaysAgo = new Date('2026-11-19T10:00:00Z');
    const futureTimers: Timer[] = [];
    let written = 0;
    const writeOne = async (index: number) => {
      const due = index < DUE;
      const acceptedAt = new Date(NOW.getTime() - (index % 80) * 24 * 3600 * 1000).toISOString();
      const referral = benchReferral(index, due ? { status: 'submitted', routedAt: threeWorkingDaysAgo.toISOString() } : { status: 'contacted', acceptedAt, owner: { id: `29:lw${index % 40}`, name: `Link Worker ${index % 40}` } });
      await recordTable.createEntity({
        partitionKey: referral.id,
        rowKey: 'referral',
        kind: 'referral',
        reference: referral.reference,
        serviceId: referral.serviceId,
        status: referral.status,
        referrerId: referral.referrer.teamsUserId,
        body: JSON.stringify(referral),
      });
      futureTimers.push(...referralTimers(referral, DEFAULT_SUPERVISION, calendar));
    };
    for (let start = 0; start < total; start += CONCURRENCY) {
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, total - start) }, (_, offset) => writeOne(start + offset)));
      written += Math.min(CONCURRENCY, total - start);
    }
    futureTimers.sort((a, b) => a.dueAt.localeCompare(b.dueAt));
    await timers.scheduleMany(futureTimers);
    const dueNow = futureTimers.filter((timer) => timer.dueAt <= NOW.toISOString()).length;
    const setupSeconds = (performance.now() - setupStarted) / 1000;

    const scheduler = signpost.scheduler;
    await directory.list(); // warm the directory cache, as a running bot has it

    counting = true;
    const sweepStarted = performance.now();
    const sweep = await scheduler.runOnce();
    const sweepMs = performance.now() - sweepStarted;
    const sweepRequests = { ...requests };
    requests.all = 0;
    requests.reads = 0;
    const idleStarted = performance.now();
    await scheduler.runOnce();
    const idleSweepMs = performance.now() - idleStarted;
    counting = false;

    return {
      name: 'supervision-sweep',
      referrals: written,
      timers: futureTimers.length,
      due: dueNow,
      setupSeconds: round(setupSeconds),
      sweepMs: round(sweepMs),
      fired: sweep.fired,
      queued: sweep.queued,
      timerRowsRead: sweep.rowsRead,
      storageRequests: sweepRequests.all,
      storageReads: sweepRequests.reads,
      idleSweepMs: round(idleSweepMs),
      idleSweepRequests: requests.all,
    };
  } finally {
    await azurite.stop();
  }
}

function benchReferral(index: number, state: Partial<Referral>): Referral {
  const at = '2026-09-01T10:00:00.000Z';
  return {
    id: randomUUID(),
    reference: `SP-2026-${String(index + 1).padStart(6, '0')}`,
    status: 'submitted',
    version: 2,
    serviceId: 'sail',
    facts: { age: 70 + (index % 20), borough: 'southwark', sociallyIsolated: true },
    whatMatters: 'Company at lunchtime and help getting to the shops',
    match: { eligibleServiceIds: ['sail'], nearMissServiceIds: [], chosenServiceId: 'sail', chosenWasNearMiss: false, reasons: ['Meets: age over 50'] },
    person: {
      givenName: 'Bench',
      familyName: `Person${index}`,
      dateOfBirth: '1950-03-14',
      postcode: 'SE5 8AU',
      borough: 'southwark',
      phone: '020 7946 0000',
      preferredContactMethod: 'phone',
      language: 'English',
      interpreterNeeded: false,
      carerInvolved: false,
    },
    consent: { consentToReferral: true, consentToShare: true, method: 'verbal', recordedAt: at, recordedBy: { id: '29:r', name: 'Referrer' } },
    referrer: { teamsUserId: '29:r', name: 'Referrer', email: 'referrer@practice.example', practice: 'Bench Surgery' },
    referrerConversation: { serviceUrl: 'http://127.0.0.1:1/', channelId: 'msteams', conversation: { id: 'a:1' } },
    createdAt: at,
    updatedAt: at,
    ...state,
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
