import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startSignpost } from '../bot/app/server';
import { createLogger } from '../bot/app/log';
import { startAzurite } from '../storage/azurite';
import { startBareBot } from './bareBot';
import { activityFrom, LoopbackConnector, post } from './support/loopback';

/**
 * Signpost turn by turn, side by side with a bare botbuilder bot on the same machine and load
 * (BENCH_USERS concurrent users, 20 by default): personal-chat `help`; whole referrals (`refer`
 * and seven card steps, Send last); Accepts by as many link workers on as many referrals; and
 * how long the referrer waits for the update after an Accept. Storage is the embedded Azurite
 * (in memory) on loopback, so every storage request is a real HTTP round trip, counted.
 *
 * CPU per turn is this process's CPU over a load divided by its turns: it includes the load
 * generator, the same for both bots, so compare the two rather than read it absolutely.
 */

const USERS = Number(process.env.BENCH_USERS ?? 20);
const HELP_TURNS_PER_USER = Number(process.env.BENCH_HELP_TURNS ?? 25);
/** Whole referrals each user makes; more gives steadier percentiles (20 x 3 x 7 = 420 card steps by default). */
const REFERRALS_PER_USER = Number(process.env.BENCH_REFERRALS_PER_USER ?? 3);
const SOAK_TURNS = Number(process.env.BENCH_TURNS_SOAK ?? 0);
/** BENCH_TRACE_STORAGE=1 prints the storage requests of the lone Send and Accept, to see what a turn asks of storage. */
const TRACE_STORAGE = process.env.BENCH_TRACE_STORAGE === '1';
/**
 * BENCH_PROFILE=file.cpuprofile writes a CPU profile of this process over the referrals on
 * Signpost (BENCH_PROFILE_PHASE=accepts: over the Accepts), to open in Chrome DevTools.
 */
const PROFILE_FILE = process.env.BENCH_PROFILE;
const PROFILE_PHASE = process.env.BENCH_PROFILE_PHASE === 'accepts' ? 'accepts' : 'referrals';
const CHANNEL = { team: '19:bench-team@thread.tacv2', channel: '19:bench-referrals@thread.tacv2' };

/** Answers for each referral step, as a receptionist types them. */
const ANSWERS: Record<string, Record<string, unknown>> = {
  referrer: { name: 'Amira Patel', email: 'amira.patel@practice.example', practice: 'Lordship Lane Surgery', role: 'Receptionist' },
  consent: { consentToReferral: 'yes', consentToShare: 'yes', method: 'verbal' },
  safety: { immediateRisk: 'no' },
  person: {
    givenName: 'Bench', familyName: 'Person', dateOfBirth: '1950-03-14', nhsNumber: '', postcode: 'se5 8au', borough: 'southwark',
    phone: '020 7946 0000', preferredContactMethod: 'phone', email: '', preferredContactTimes: 'Mornings', language: 'English',
    interpreterNeeded: 'no', carerInvolved: 'no', carerDetails: '',
  },
  needs: {
    longTermConditions: '1', mentalHealth: 'none', mentalHealthDiagnosis: 'no', usingTalkingTherapies: 'no', dementiaDiagnosis: 'no',
    sociallyIsolated: 'yes', malnutritionRisk: 'no', carer: 'no', dischargeFrom: 'none', gpBorough: 'southwark', referralRoute: 'gp',
    whatMatters: 'Company at lunchtime',
  },
};
const STEPS = ['referrer', 'consent', 'safety', 'person', 'needs', 'matches', 'summary'] as const;

interface Latencies {
  turns: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPerTurn: number;
}

export interface TurnsBenchResult {
  name: string;
  users: number;
  bareHelp: Latencies;
  signpostHelp: Latencies;
  bareCardStep: Latencies;
  signpostCardStep: Latencies;
  signpostSend: Latencies;
  signpostAccept: Latencies;
  updateAfterAcceptP50Ms: number;
  updateAfterAcceptP99Ms: number;
  helpRatio: number;
  cardStepRatio: number;
  cardStepP99Ratio: number;
  storageRequestsPerSend: number;
  storageRequestsPerAccept: number;
  errors: number;
  /** Accepts whose update did not reach the referrer within a minute. */
  updatesMissing: number;
  uniqueReferences: number;
  acceptedWithOneOwner: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  soakTurns: number;
  soakRssBeforeMiB: number;
  soakRssAfterMiB: number;
  soakRssMaxMiB: number;
  soakHeapBeforeMiB: number;
  soakHeapAfterMiB: number;
  seconds: number;
}

export async function run(): Promise<TurnsBenchResult> {
  const started = performance.now();
  const rssBefore = process.memoryUsage().rss;
  const connector = await LoopbackConnector.start();
  connector.members = Array.from({ length: USERS }, (_, index) => ({ id: `29:lw-${index}`, name: `Link Worker ${index}` }));
  const dataDir = mkdtempSync(path.join(tmpdir(), 'signpost-bench-'));
  let storageRequests = 0;
  const trace: string[] = [];
  const bare = await startBareBot();
  // In-memory Azurite, as in the measurements: the embedded default's save-before-answer
  // would measure the disk, not Signpost.
  const azurite = await startAzurite();
  const signpost = await startSignpost({
    connectionString: azurite.connectionString,
    env: { PATH: process.env.PATH, SIGNPOST_NOTIFY_POLL_MS: '5000' },
    port: 0,
    host: '127.0.0.1',
    dataDir,
    logger: createLogger('error'),
    observeStorage: (request) => {
      storageRequests += 1;
      if (TRACE_STORAGE) trace.push(`${request.method} ${decodeURIComponent(new URL(request.url).pathname + new URL(request.url).search).slice(0, 160)}`);
    },
  });
  let errors = 0;
  const turn = async (botUrl: string, activity: Record<string, any>): Promise<number> => {
    const begun = performance.now();
    const { status, body } = await post(botUrl, activity);
    if (status !== 200 || /something went wrong/i.test(body)) errors += 1;
    return performance.now() - begun;
  };
  /** `refer` and the seven card steps, as a receptionist answers them; the reference Send gave. */
  const wholeReferral = async (who: { from: { id: string; name: string }; conversation: { id: string; conversationType: string } }, record: (took: number, step: string) => void) => {
    let card = lastCard(connector, who.conversation.id, await turn(signpost.url, activityFrom(connector, { ...who, text: 'refer' })));
    for (const step of STEPS) {
      const inputs = step === 'matches' ? { serviceId: inputValue(card, 'serviceId') } : step === 'summary' ? {} : ANSWERS[step];
      const took = await turn(signpost.url, activityFrom(connector, { ...who, text: '', value: { ...submitData(card), ...inputs } }));
      record(took, step);
      card = lastCard(connector, who.conversation.id, took);
    }
    return /SP-\d{4}-\d{6}/.exec(JSON.stringify(card))?.[0];
  };
  const user = (index: number, kind: string) => ({ from: { id: `29:${kind}-${index}`, name: `User ${index}` }, conversation: { id: `a:${kind}-${index}`, conversationType: 'personal' } });

  try {
    // 1. `help`: the same load on both bots, one bot at a time.
    const helpLoad = (botUrl: string, kind: string) =>
      load(USERS * HELP_TURNS_PER_USER, async (record) => {
        await Promise.all(Array.from({ length: USERS }, async (_, index) => {
          for (let count = 0; count < HELP_TURNS_PER_USER; count += 1) record(await turn(botUrl, activityFrom(connector, { ...user(index, kind), text: 'help' })));
        }));
      });
    const progress = (what: string) => process.stderr.write(`turns: ${what} (${Math.round((performance.now() - started) / 1000)} s)\n`);
    // Warm both up (JIT, connection pools, Azurite's tables) before anything is measured.
    for (const url of [bare.url, signpost.url]) {
      await Promise.all(Array.from({ length: USERS }, (_, index) => turn(url, activityFrom(connector, { ...user(index, 'warm-up'), text: 'help' }))));
    }
    const bareHelp = await helpLoad(bare.url, 'bare-help');
    progress('help on the bare bot');
    const signpostHelp = await helpLoad(signpost.url, 'help');
    progress('help on Signpost');

    // The SAIL team's channel, linked as its link workers do.
    await post(signpost.url, channelActivity(connector, { from: connector.members[0], text: 'link sail' }));

    // 2. Whole referrals on Signpost; the bare bot gets as many card submits.
    const sends: number[] = [];
    let profile = PROFILE_FILE && PROFILE_PHASE === 'referrals' ? await startProfile() : undefined;
    const references = new Set<string>();
    const signpostCardStep = await load(USERS * REFERRALS_PER_USER * STEPS.length, async (record) => {
      await Promise.all(Array.from({ length: USERS }, async (_, index) => {
        const who = user(index, 'referrer');
        for (let made = 0; made < REFERRALS_PER_USER; made += 1) {
          const reference = await wholeReferral(who, (took, step) => {
            record(took);
            if (step === 'summary') sends.push(took);
          });
          if (reference) references.add(reference);
        }
      }));
    });
    progress('referrals on Signpost');
    if (profile) writeFileSync(PROFILE_FILE!, JSON.stringify(await profile.stop()));
    profile = undefined;
    const bareCardStep = await load(USERS * REFERRALS_PER_USER * STEPS.length, async (record) => {
      await Promise.all(Array.from({ length: USERS }, async (_, index) => {
        for (let count = 0; count < REFERRALS_PER_USER * STEPS.length; count += 1) record(await turn(bare.url, activityFrom(connector, { ...user(index, 'bare-card'), text: '', value: { step: 'x', again: true } })));
      }));
    });

    await signpost.signpost.dispatcher.caughtUp(); // the referrals' cards are in the channel, as link workers see them
    const queue = await signpost.signpost.store.queue.list('sail');
    // The versions the cards show, read before the clicks so the load generator's reads do not compete with them.
    const shown = new Map((await Promise.all(queue.map((entry) => signpost.signpost.store.referrals.get(entry.referralId)))).map((stored) => [stored!.referral.id, stored!.referral]));

    // 3. Concurrent Accepts: 20 link workers at once, each on referrals of their own (worker i takes i, i + 20, ...).
    const accepted: Array<{ acceptedAt: number; referralId: string; reference: string; referrerChat: string }> = [];
    const workers = connector.members.length;
    if (PROFILE_FILE && PROFILE_PHASE === 'accepts') profile = await startProfile();
    const signpostAccept = await load(queue.length, async (record) => {
      await Promise.all(connector.members.map(async (worker, workerIndex) => {
        for (let index = workerIndex; index < queue.length; index += workers) {
          const entry = queue[index];
          const stored = shown.get(entry.referralId)!;
          const invoke = channelActivity(connector, {
            type: 'invoke', name: 'adaptiveCard/action', from: worker,
            value: { action: { type: 'Action.Execute', verb: 'accept', data: { referralId: entry.referralId, version: stored.version } } },
          });
          const begun = performance.now();
          const { status, body } = await post(signpost.url, invoke);
          record(performance.now() - begun);
          if (status !== 200 || !body.includes('Accepted by')) {
            errors += 1;
            continue;
          }
          accepted.push({ acceptedAt: performance.now(), referralId: entry.referralId, reference: stored.reference, referrerChat: String((stored.referrerConversation.conversation as { id: string }).id) });
        }
      }));
    });
    progress('accepts on Signpost');
    if (profile) writeFileSync(PROFILE_FILE!, JSON.stringify(await profile.stop()));
    // 4. How long the referrer waits for the news of that referral.
    const waits = await Promise.all(
      accepted.map(async ({ acceptedAt, reference, referrerChat }) => {
        const arrived = connector.arrival(referrerChat, (activity) => {
          const text = JSON.stringify(activity);
          return text.includes('was accepted') && text.includes(reference);
        });
        const gaveUp = new Promise<number>((resolve) => setTimeout(() => resolve(Number.NaN), 60_000).unref());
        return (await Promise.race([arrived, gaveUp])) - acceptedAt;
      }),
    );
    const updatesMissing = waits.filter(Number.isNaN).length;
    let acceptedWithOneOwner = 0;
    for (const { referralId } of accepted) {
      const referral = (await signpost.signpost.store.referrals.get(referralId))!.referral;
      const accepts = (await signpost.signpost.store.referrals.audit(referralId)).filter((event) => event.action === 'referral.accept');
      if (referral.owner && accepts.length === 1) acceptedWithOneOwner += 1;
    }
    // Storage requests of one Send and one Accept, alone: the outbox drained first and its
    // dispatcher paused meanwhile, so what it does after the reply is not counted as the turn's.
    const traced = (what: string, from: number) => TRACE_STORAGE && process.stderr.write(`${what}:\n  ${trace.slice(from).join('\n  ')}\n`);
    const { dispatcher } = signpost.signpost;
    const alone = async <T>(count: () => Promise<T>): Promise<T> => {
      await dispatcher.caughtUp();
      await dispatcher.stop();
      try {
        return await count();
      } finally {
        dispatcher.start(5_000);
      }
    };
    let from = trace.length;
    const loneSend = await alone(() => countedSend(signpost.url, connector, () => storageRequests, () => (from = trace.length)));
    traced('storage requests of a Send', from);
    const loneAccept = await alone(() => countedAccept(signpost.url, connector, signpost.signpost.store, () => storageRequests, () => (from = trace.length)));
    traced('storage requests of an Accept', from);

    // Optional soak: memory over many turns of every kind (whole referrals and `help`), measured
    // after a full GC at the start, every tenth of the way and at the end.
    let soak = { turns: 0, before: 0, after: 0, maxRss: 0, heapBefore: 0, heapAfter: 0 };
    if (SOAK_TURNS > 0) {
      const settled = () => {
        global.gc?.();
        return process.memoryUsage();
      };
      const start = settled();
      soak = { turns: 0, before: start.rss, after: 0, maxRss: start.rss, heapBefore: start.heapUsed, heapAfter: 0 };
      let nextSample = SOAK_TURNS / 10;
      while (soak.turns < SOAK_TURNS) {
        // A round: each user makes a whole referral (8 turns) and asks for help twice.
        await Promise.all(Array.from({ length: USERS }, async (_, index) => {
          const who = user(index, 'soak');
          await wholeReferral(who, () => undefined);
          for (let count = 0; count < 2; count += 1) await turn(signpost.url, activityFrom(connector, { ...who, text: 'help' }));
        }));
        soak.turns += USERS * (STEPS.length + 3);
        connector.received.clear(); // the stand-in keeps nothing for long
        if (soak.turns >= nextSample) {
          soak.maxRss = Math.max(soak.maxRss, settled().rss);
          nextSample += SOAK_TURNS / 10;
          progress(`soak ${soak.turns} turns, rss ${mib(process.memoryUsage().rss)} MiB`);
        }
      }
      const end = settled();
      soak = { ...soak, after: end.rss, heapAfter: end.heapUsed };
    }

    const waitsSorted = waits.filter((wait) => !Number.isNaN(wait)).sort((a, b) => a - b);
    const sendStats = summarise(sends, 0, 0);
    return {
      name: 'turns',
      users: USERS,
      bareHelp,
      signpostHelp,
      bareCardStep,
      signpostCardStep,
      signpostSend: sendStats,
      signpostAccept,
      updateAfterAcceptP50Ms: round(percentile(waitsSorted, 0.5)),
      updateAfterAcceptP99Ms: round(percentile(waitsSorted, 0.99)),
      helpRatio: round(signpostHelp.perSecond / bareHelp.perSecond),
      cardStepRatio: round(signpostCardStep.perSecond / bareCardStep.perSecond),
      cardStepP99Ratio: round(signpostCardStep.p99Ms / bareCardStep.p99Ms),
      storageRequestsPerSend: loneSend,
      storageRequestsPerAccept: loneAccept,
      errors,
      updatesMissing,
      uniqueReferences: references.size,
      acceptedWithOneOwner,
      rssBeforeMiB: mib(rssBefore),
      rssAfterMiB: mib(process.memoryUsage().rss),
      soakTurns: soak.turns,
      soakRssBeforeMiB: mib(soak.before),
      soakRssAfterMiB: mib(soak.after),
      soakRssMaxMiB: mib(soak.maxRss),
      soakHeapBeforeMiB: mib(soak.heapBefore),
      soakHeapAfterMiB: mib(soak.heapAfter),
      seconds: round((performance.now() - started) / 1000),
    };
  } finally {
    await signpost.stop();
    await azurite.stop();
    await bare.stop();
    await connector.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Runs a load, timing each turn it records; CPU over the load per turn. */
async function load(turns: number, body: (record: (ms: number) => void) => Promise<void>): Promise<Latencies> {
  const times: number[] = [];
  const cpu = process.cpuUsage();
  const begun = performance.now();
  await body((ms) => times.push(ms));
  return summarise(times, performance.now() - begun, (process.cpuUsage(cpu).user + process.cpuUsage(cpu).system) / 1000 / Math.max(1, turns));
}

function summarise(times: number[], elapsedMs: number, cpuMsPerTurn: number): Latencies {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    turns: times.length,
    perSecond: elapsedMs ? round(times.length / (elapsedMs / 1000)) : 0,
    p50Ms: round(percentile(sorted, 0.5)),
    p99Ms: round(percentile(sorted, 0.99)),
    cpuMsPerTurn: round(cpuMsPerTurn),
  };
}

/** One more referral, alone, counting the storage requests made until Send is answered. */
async function countedSend(botUrl: string, connector: LoopbackConnector, requests: () => number, starting: () => void): Promise<number> {
  const who = { from: { id: '29:lone', name: 'Lone Referrer' }, conversation: { id: 'a:lone', conversationType: 'personal' } };
  await post(botUrl, activityFrom(connector, { ...who, text: 'refer' }));
  let card = lastCard(connector, 'a:lone', 0);
  for (const step of STEPS) {
    const inputs = step === 'matches' ? { serviceId: inputValue(card, 'serviceId') } : step === 'summary' ? {} : ANSWERS[step];
    const before = requests();
    starting();
    await post(botUrl, activityFrom(connector, { ...who, text: '', value: { ...submitData(card), ...inputs } }));
    if (step === 'summary') return requests() - before;
    card = lastCard(connector, 'a:lone', 0);
  }
  return 0;
}

/** One Accept, alone, counting its storage requests until it is answered. */
async function countedAccept(
  botUrl: string,
  connector: LoopbackConnector,
  store: { queue: { list(serviceId: string): Promise<Array<{ referralId: string; status: string }>> }; referrals: { get(id: string): Promise<{ referral: { version: number } } | undefined> } },
  requests: () => number,
  starting: () => void,
): Promise<number> {
  const waiting = (await store.queue.list('sail')).find((entry) => entry.status === 'submitted');
  if (!waiting) return 0;
  const version = (await store.referrals.get(waiting.referralId))!.referral.version;
  const before = requests();
  starting();
  await post(botUrl, channelActivity(connector, {
    type: 'invoke', name: 'adaptiveCard/action', from: connector.members[0],
    value: { action: { type: 'Action.Execute', verb: 'accept', data: { referralId: waiting.referralId, version } } },
  }));
  return requests() - before;
}

function channelActivity(connector: LoopbackConnector, fields: Record<string, any>): Record<string, any> {
  return activityFrom(connector, {
    ...fields,
    conversation: { id: `${CHANNEL.channel};messageid=1`, conversationType: 'channel' },
    channelData: { team: { id: CHANNEL.team }, channel: { id: CHANNEL.channel } },
  });
}

/** The last card Signpost sent in a conversation. */
function lastCard(connector: LoopbackConnector, conversationId: string, _took: number): Record<string, any> {
  const replies = connector.received.get(conversationId) ?? [];
  for (let index = replies.length - 1; index >= 0; index -= 1) {
    const content = replies[index].activity.attachments?.[0]?.content;
    if (content) return content;
  }
  throw new Error(`no card in ${conversationId}`);
}

function submitData(card: Record<string, any>): Record<string, unknown> {
  const data = card.actions?.[0]?.data;
  if (!data?.step || !data?.token) throw new Error('card has no submit action with step and token');
  return { step: data.step, token: data.token };
}

function inputValue(card: unknown, id: string): unknown {
  let found: unknown;
  const visit = (node: any): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      if (typeof node.type === 'string' && node.type.startsWith('Input.') && node.id === id) found = node.value;
      Object.values(node).forEach(visit);
    }
  };
  visit(card);
  return found;
}

function percentile(sorted: number[], share: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * share))] : 0;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function mib(bytes: number): number {
  return round(bytes / 1024 / 1024);
}

/** Profiles this process's CPU until stop() (node:inspector, no dependency). */
async function startProfile(): Promise<{ stop(): Promise<unknown> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      return profile;
    },
  };
}
