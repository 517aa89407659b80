import { performance } from 'node:perf_hooks';
import { startAzurite } from '../storage/azurite';
import { BotProcess, startBotProcess, type StorageMark } from './support/botProcess';
import { activityFrom, LoopbackConnector, post } from './support/loopback';
import { FLOOR_STEP_VERB } from './formFloorBot';

/**
 * Signpost turn by turn, side by side with a bare botbuilder bot on the same machine and load
 * (BENCH_USERS concurrent users, 20 by default): personal-chat `help`; whole referrals (`refer`
 * and seven card steps, Send last), with as many clicks on the bare bot and on the form floor
 * (formFloorBot.ts: the least a durable form step costs); Accepts by as many link workers on as
 * many referrals; and how long the referrer waits for the update after an Accept. Storage is the embedded Azurite
 * (in memory) on loopback, so every storage request is a real HTTP round trip, counted.
 *
 * Each bot runs in a process of its own (support/botHost.ts), Azurite in another, and this
 * process is the load generator and the Bot Connector stand-in. So `cpuMsPerTurn` is the bot's
 * own CPU over a load divided by its turns (Signpost's includes its outbox dispatcher, not
 * Azurite's work), `loadGeneratorCpuMsPerTurn` is this process's, and the RSS and heap figures
 * are Signpost's process's, after a full GC in it.
 *
 * The bots take turns, a round each (see `interleaved`), and each Signpost round ends when its
 * outbox has done the work behind the round's replies: so no bot is measured while another is
 * busy, and the machine's drift falls on all alike.
 */

const USERS = Number(process.env.BENCH_USERS ?? 20);
const HELP_TURNS_PER_USER = Number(process.env.BENCH_HELP_TURNS ?? 25);
/** `help` goes to the two bots in rounds, taking turns, so the machine's drift falls on both alike. */
const HELP_ROUNDS = Math.max(1, Math.min(5, HELP_TURNS_PER_USER));
/** Each user's `help` turns in a round: the rounds share BENCH_HELP_TURNS as evenly as they can. */
const helpTurnsInRound = (round: number) => Math.floor(((round + 1) * HELP_TURNS_PER_USER) / HELP_ROUNDS) - Math.floor((round * HELP_TURNS_PER_USER) / HELP_ROUNDS);
/** Whole referrals each user makes; more gives steadier percentiles (20 x 3 x 7 = 420 card steps by default). */
const REFERRALS_PER_USER = Number(process.env.BENCH_REFERRALS_PER_USER ?? 3);
const SOAK_TURNS = Number(process.env.BENCH_TURNS_SOAK ?? 0);
/** BENCH_TRACE_STORAGE=1 prints the storage requests of the lone Send and Accept, to see what a turn asks of storage. */
const TRACE_STORAGE = process.env.BENCH_TRACE_STORAGE === '1';
/**
 * BENCH_PROFILE=file.cpuprofile writes a CPU profile of Signpost's process over the referrals
 * (BENCH_PROFILE_PHASE=accepts: over the Accepts), to open in Chrome DevTools.
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
  /** The bot's process's CPU over the load per turn; Signpost's until its outbox caught up with the work behind the replies. */
  cpuMsPerTurn: number;
  /** This process's (load generator and Connector stand-in) CPU over the load per turn. */
  loadGeneratorCpuMsPerTurn: number;
  /** Storage requests over the load per turn (Signpost's with its outbox's work behind the replies; the form floor's). */
  storageRequestsPerTurn?: number;
  /**
   * Signpost, loads run in rounds: turns per second counting also the time its outbox took to
   * finish the work behind the round's replies once the round's turns were answered (that work's
   * CPU is in cpuMsPerTurn either way). What it could keep up for hours, where perSecond is how
   * fast people get their answers.
   */
  perSecondWithWorkBehind?: number;
}

/** Who a turn is from and in which conversation. */
interface Sender {
  from: { id: string; name: string };
  conversation: { id: string; conversationType: string };
}

export interface TurnsBenchResult {
  name: string;
  users: number;
  bareHelp: Latencies;
  signpostHelp: Latencies;
  bareCardStep: Latencies;
  /** The bare bot answering a Universal Action with a card in its answer, as Signpost's form steps are answered. */
  bareCardClick: Latencies;
  signpostCardStep: Latencies;
  signpostSend: Latencies;
  signpostAccept: Latencies;
  updateAfterAcceptP50Ms: number;
  updateAfterAcceptP99Ms: number;
  helpRatio: number;
  cardStepRatio: number;
  /** Signpost's turns per second with its outbox's catching up after each round counted too. */
  cardStepRatioWithWorkBehind: number;
  cardStepP99Ratio: number;
  /** Against the bare bot answering a Universal Action (no Connector call either). */
  cardStepRatioToBareClick: number;
  cardStepP99RatioToBareClick: number;
  /**
   * The form-floor bot (formFloorBot.ts): the least a durable form step costs on this stack (a
   * click validated, kept in botbuilder-dialogs' state, written to storage, answered with a card).
   */
  floorCardClick: Latencies;
  /** The form floor's card steps per second against the bare bot's, as cardStepRatio: the most any durable form could reach. */
  floorRatio: number;
  floorP99Ratio: number;
  /** Signpost's card steps per second against the form floor's: what Signpost's referral adds to a durable form. */
  cardStepRatioToFloor: number;
  /** A Send by someone who has referred before, within the instance's block of references. */
  storageRequestsPerSend: number;
  /** A new referrer's first Send, reserving a new block of references too. */
  storageRequestsPerFirstSend: number;
  storageRequestsPerAccept: number;
  /** What the outbox does behind one Send's reply (the channel post, the intake inboxes, clocks, the report count), and behind one Accept's. */
  storageRequestsAfterSend: number;
  storageRequestsAfterAccept: number;
  errors: number;
  /** Accepts whose update did not reach the referrer within a minute. */
  updatesMissing: number;
  uniqueReferences: number;
  acceptedWithOneOwner: number;
  /** Signpost's process once started and at the end (after the soak, if any), after a full GC. */
  rssBeforeMiB: number;
  rssAfterMiB: number;
  bareRssBeforeMiB: number;
  bareRssAfterMiB: number;
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
  const connector = await LoopbackConnector.start();
  connector.members = Array.from({ length: USERS }, (_, index) => ({ id: `29:lw-${index}`, name: `Link Worker ${index}` }));
  const bare = await startBotProcess({ kind: 'bare' });
  // In-memory Azurite, as in the measurements: the embedded default's save-before-answer
  // would measure the disk, not Signpost.
  const azurite = await startAzurite();
  const floor = await startBotProcess({ kind: 'formFloor', connectionString: azurite.connectionString });
  const signpost = await startBotProcess({ kind: 'signpost', connectionString: azurite.connectionString, traceStorage: TRACE_STORAGE });
  const bareMemoryBefore = await bare.request('usage', { gc: true });
  const memoryBefore = await signpost.request('usage', { gc: true });
  let errors = 0;
  const turn = async (botUrl: string, activity: Record<string, any>): Promise<number> => {
    const begun = performance.now();
    const { status, body } = await post(botUrl, activity);
    if (status !== 200 || /something went wrong/i.test(body)) errors += 1;
    return performance.now() - begun;
  };
  /** `refer` and the seven card steps, as a receptionist answers them; the reference Send gave. */
  const wholeReferral = async (who: Sender, record: (took: number, step: string) => void) => {
    await turn(signpost.url, activityFrom(connector, { ...who, text: 'refer' }));
    let card = lastCard(connector, who.conversation.id);
    for (const step of STEPS) {
      const submitted = await submitStep(signpost.url, connector, who, card, step);
      if (!submitted.ok) errors += 1;
      record(submitted.took, step);
      card = submitted.card;
    }
    return /SP-\d{4}-\d{6}/.exec(JSON.stringify(card))?.[0];
  };
  const user = (index: number, kind: string) => ({ from: { id: `29:${kind}-${index}`, name: `User ${index}` }, conversation: { id: `a:${kind}-${index}`, conversationType: 'personal' } });

  try {
    // 1. `help`: the same load on both bots, a round on one then a round on the other.
    const helpRound = (bot: BotProcess, kind: string) => {
      let round = 0;
      return async (record: (ms: number) => void) => {
        const turns = helpTurnsInRound(round);
        round += 1;
        await Promise.all(Array.from({ length: USERS }, async (_, index) => {
          for (let count = 0; count < turns; count += 1) record(await turn(bot.url, activityFrom(connector, { ...user(index, kind), text: 'help' })));
        }));
      };
    };
    const progress = (what: string) => process.stderr.write(`turns: ${what} (${Math.round((performance.now() - started) / 1000)} s)\n`);
    // The SAIL team's channel, linked as its link workers do.
    await post(signpost.url, channelActivity(connector, { from: connector.members[0], text: 'link sail' }));
    // Warm both up before anything is measured (JIT, connection pools, Azurite's tables, each card
    // template's one-time parse), on every path the load takes: on Signpost `help`, a whole
    // referral and an Accept per user; on the bare bot as many messages, card steps and clicks.
    for (const url of [bare.url, signpost.url]) {
      await Promise.all(Array.from({ length: USERS }, (_, index) => turn(url, activityFrom(connector, { ...user(index, 'warm-up'), text: 'help' }))));
    }
    await Promise.all(Array.from({ length: USERS }, async (_, index) => {
      for (let count = 0; count < STEPS.length; count += 1) {
        await turn(bare.url, activityFrom(connector, { ...user(index, 'warm-up'), text: '', value: { step: 'x', again: true } }));
        await turn(bare.url, activityFrom(connector, { ...user(index, 'warm-up'), ...cardClick('again', { again: true }) }));
      }
    }));
    // Each user's form on the form-floor bot, begun and warmed; the card each is now on.
    const floorCards = await Promise.all(Array.from({ length: USERS }, async (_, index) => {
      let card = (await floorClick(floor.url, connector, user(index, 'floor'), undefined)).card;
      for (let count = 0; count < STEPS.length; count += 1) card = (await floorClick(floor.url, connector, user(index, 'floor'), card)).card;
      return card;
    }));
    const warmUpReferences = new Set(await Promise.all(Array.from({ length: USERS }, (_, index) => wholeReferral(user(index, 'warm-up'), () => undefined))));
    await signpost.request('caughtUp');
    const warmUpQueue = (await signpost.request('queue', { serviceId: 'sail' })).filter((entry) => warmUpReferences.has(entry.reference));
    await Promise.all(warmUpQueue.map(async (entry, index) => {
      const { version } = (await signpost.request('referral', { id: entry.referralId }))!.referral;
      if (!wasAccepted(await post(signpost.url, acceptClick(connector, connector.members[index % connector.members.length], entry.referralId, version)))) errors += 1;
    }));
    await signpost.request('caughtUp');
    progress('warm-up');
    const { bare: bareHelp, signpost: signpostHelp } = await interleaved(HELP_ROUNDS, {
      bare: { bot: bare, round: helpRound(bare, 'bare-help') },
      signpost: { bot: signpost, round: helpRound(signpost, 'help') },
    });
    progress('help');

    // 2. Whole referrals on Signpost; the bare bot gets as many card submits.
    const sends: number[] = [];
    const profiling = async <T>(phase: typeof PROFILE_PHASE, body: () => Promise<T>): Promise<T> => {
      if (!PROFILE_FILE || PROFILE_PHASE !== phase) return body();
      await signpost.request('profileStart');
      const measured = await body();
      await signpost.request('profileStop', { file: PROFILE_FILE });
      return measured;
    };
    const references = new Set<string>();
    // A round: each user makes one whole referral on Signpost, and as many card steps on the bare
    // bot, answered as the issue measured it (a message, answered with a new card through the
    // Connector) and as Signpost's form now is (a Universal Action answered with the card that
    // replaces the clicked one), for a like-for-like ratio.
    const { signpost: signpostCardStep, bareMessage: bareCardStep, bareClick: bareCardClick, floorClick: floorCardClick } = await profiling('referrals', () => interleaved(REFERRALS_PER_USER, {
      signpost: {
        bot: signpost,
        round: async (record) => {
          await Promise.all(Array.from({ length: USERS }, async (_, index) => {
            const reference = await wholeReferral(user(index, 'referrer'), (took, step) => {
              record(took);
              if (step === 'summary') sends.push(took);
            });
            if (reference) references.add(reference);
          }));
        },
      },
      bareMessage: {
        bot: bare,
        round: async (record) => {
          await Promise.all(Array.from({ length: USERS }, async (_, index) => {
            for (let count = 0; count < STEPS.length; count += 1) record(await turn(bare.url, activityFrom(connector, { ...user(index, 'bare-card'), text: '', value: { step: 'x', again: true } })));
          }));
        },
      },
      bareClick: {
        bot: bare,
        round: async (record) => {
          await Promise.all(Array.from({ length: USERS }, async (_, index) => {
            for (let count = 0; count < STEPS.length; count += 1) record(await turn(bare.url, activityFrom(connector, { ...user(index, 'bare-click'), ...cardClick('again', { again: true }) })));
          }));
        },
      },
      floorClick: {
        bot: floor,
        round: async (record) => {
          await Promise.all(Array.from({ length: USERS }, async (_, index) => {
            for (let count = 0; count < STEPS.length; count += 1) {
              const clicked = await floorClick(floor.url, connector, user(index, 'floor'), floorCards[index]);
              if (!clicked.ok) errors += 1;
              record(clicked.took);
              floorCards[index] = clicked.card;
            }
          }));
        },
      },
    }));
    progress('referrals');

    await signpost.request('caughtUp'); // the referrals' cards are in the channel, as link workers see them
    const queue = (await signpost.request('queue', { serviceId: 'sail' })).filter((entry) => references.has(entry.reference));
    // The versions the cards show, read before the clicks so the load generator's reads do not compete with them.
    const shown = new Map((await Promise.all(queue.map((entry) => signpost.request('referral', { id: entry.referralId })))).map((stored) => [stored!.referral.id, stored!.referral]));

    // 3. Concurrent Accepts: 20 link workers at once, each on referrals of their own (worker i takes i, i + 20, ...).
    const accepted: Array<{ acceptedAt: number; referralId: string; reference: string; referrerChat: string }> = [];
    const workers = connector.members.length;
    const { signpost: signpostAccept } = await profiling('accepts', () => interleaved(1, { signpost: { bot: signpost, round: async (record) => {
      await Promise.all(connector.members.map(async (worker, workerIndex) => {
        for (let index = workerIndex; index < queue.length; index += workers) {
          const entry = queue[index];
          const stored = shown.get(entry.referralId)!;
          const begun = performance.now();
          const answer = await post(signpost.url, acceptClick(connector, worker, entry.referralId, stored.version));
          record(performance.now() - begun);
          if (!wasAccepted(answer)) {
            errors += 1;
            continue;
          }
          accepted.push({ acceptedAt: performance.now(), referralId: entry.referralId, reference: stored.reference, referrerChat: String((stored.referrerConversation.conversation as { id: string }).id) });
        }
      }));
    } } }));
    progress('accepts on Signpost');
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
      const referral = (await signpost.request('referral', { id: referralId }))!.referral;
      const accepts = (await signpost.request('audit', { id: referralId })).filter((event) => event.action === 'referral.accept');
      if (referral.owner && accepts.length === 1) acceptedWithOneOwner += 1;
    }
    // Storage requests of one Send and one Accept, alone: the outbox drained first and its
    // dispatcher paused meanwhile, so what it does after the reply is not counted as the turn's;
    // then what is done behind that reply (deferred work and the outbox), counted apart.
    const alone = async (what: string, count: (storage: StorageCount) => Promise<StorageSpan>): Promise<{ reply: number; behind: number }> => {
      await signpost.request('caughtUp');
      await signpost.request('pauseDispatcher');
      let span: StorageSpan;
      try {
        span = await count(() => signpost.request('storageCount'));
      } finally {
        await signpost.request('resumeDispatcher', { intervalMs: 5_000 });
      }
      await signpost.request('caughtUp');
      const end = await signpost.request('storageCount');
      if (TRACE_STORAGE) {
        const trace = await signpost.request('storageTrace', { from: span.before.traced });
        const replyTraced = span.replied.traced - span.before.traced;
        process.stderr.write(`${what}:\n  ${trace.slice(0, replyTraced).join('\n  ')}\n`);
        process.stderr.write(`${what}, behind the reply:\n  ${trace.slice(replyTraced).join('\n  ')}\n`);
      }
      return { reply: span.replied.requests - span.before.requests, behind: end.requests - span.replied.requests };
    };
    // The first Send of a new referrer, which also reserves a block of references (60 referrals
    // so far: the 61st starts a block), then that referrer's next Send: the usual case.
    const firstSend = await alone('storage requests of a first Send', (storage) => countedSend(signpost.url, connector, storage));
    const loneSend = await alone('storage requests of a Send', (storage) => countedSend(signpost.url, connector, storage));
    const loneAccept = await alone('storage requests of an Accept', (storage) => countedAccept(signpost, connector, storage));

    // Optional soak: memory over many turns of every kind (whole referrals and `help`), measured
    // after a full GC at the start, every tenth of the way and at the end.
    let soak = { turns: 0, before: 0, after: 0, maxRss: 0, heapBefore: 0, heapAfter: 0 };
    if (SOAK_TURNS > 0) {
      const settled = () => signpost.request('usage', { gc: true });
      const start = await settled();
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
          const sample = await settled();
          soak.maxRss = Math.max(soak.maxRss, sample.rss);
          nextSample += SOAK_TURNS / 10;
          progress(`soak ${soak.turns} turns, Signpost's rss ${mib(sample.rss)} MiB, heap ${mib(sample.heapUsed)} MiB`);
        }
      }
      const end = await settled();
      soak = { ...soak, after: end.rss, heapAfter: end.heapUsed };
    }

    const waitsSorted = waits.filter((wait) => !Number.isNaN(wait)).sort((a, b) => a - b);
    const sendStats = summarise(sends, 0, 0, 0);
    const memoryAfter = await signpost.request('usage', { gc: true });
    const bareMemoryAfter = await bare.request('usage', { gc: true });
    return {
      name: 'turns',
      users: USERS,
      bareHelp,
      signpostHelp,
      bareCardStep,
      bareCardClick,
      signpostCardStep,
      signpostSend: sendStats,
      signpostAccept,
      updateAfterAcceptP50Ms: round(percentile(waitsSorted, 0.5)),
      updateAfterAcceptP99Ms: round(percentile(waitsSorted, 0.99)),
      helpRatio: round(signpostHelp.perSecond / bareHelp.perSecond),
      cardStepRatio: round(signpostCardStep.perSecond / bareCardStep.perSecond),
      cardStepRatioWithWorkBehind: round(signpostCardStep.perSecondWithWorkBehind! / bareCardStep.perSecond),
      cardStepP99Ratio: round(signpostCardStep.p99Ms / bareCardStep.p99Ms),
      cardStepRatioToBareClick: round(signpostCardStep.perSecond / bareCardClick.perSecond),
      cardStepP99RatioToBareClick: round(signpostCardStep.p99Ms / bareCardClick.p99Ms),
      floorCardClick,
      floorRatio: round(floorCardClick.perSecond / bareCardStep.perSecond),
      floorP99Ratio: round(floorCardClick.p99Ms / bareCardStep.p99Ms),
      cardStepRatioToFloor: round(signpostCardStep.perSecond / floorCardClick.perSecond),
      storageRequestsPerSend: loneSend.reply,
      storageRequestsPerFirstSend: firstSend.reply,
      storageRequestsPerAccept: loneAccept.reply,
      storageRequestsAfterSend: loneSend.behind,
      storageRequestsAfterAccept: loneAccept.behind,
      errors,
      updatesMissing,
      uniqueReferences: references.size,
      acceptedWithOneOwner,
      rssBeforeMiB: mib(memoryBefore.rss),
      rssAfterMiB: mib(memoryAfter.rss),
      bareRssBeforeMiB: mib(bareMemoryBefore.rss),
      bareRssAfterMiB: mib(bareMemoryAfter.rss),
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
    await floor.stop();
    await azurite.stop();
    await bare.stop();
    await connector.stop();
  }
}

/** One bot's load, a round at a time. */
interface RoundLoad {
  bot: BotProcess;
  round(record: (ms: number) => void): Promise<void>;
}

/**
 * Runs loads in rounds, a round of each in turn, and measures each over all its rounds: the
 * machine's speed drifts by a third within minutes, so loads run one after the other would
 * compare two different machines. A Signpost round ends when its outbox has caught up, so the
 * work behind its replies is counted as its own, not as the next bot's.
 */
async function interleaved<K extends string>(rounds: number, loads: Record<K, RoundLoad>): Promise<Record<K, Latencies>> {
  const totals = new Map<K, { times: number[]; elapsedMs: number; catchUpMs: number; botCpuMicros: number; ownCpuMicros: number; storageRequests?: number }>();
  for (let round = 0; round < rounds; round += 1) {
    for (const [name, { bot, round: body }] of Object.entries(loads) as Array<[K, RoundLoad]>) {
      const total = totals.get(name) ?? { times: [], elapsedMs: 0, catchUpMs: 0, botCpuMicros: 0, ownCpuMicros: 0 };
      totals.set(name, total);
      const botBefore = await bot.request('usage', {});
      const cpu = process.cpuUsage();
      const begun = performance.now();
      await body((ms) => total.times.push(ms));
      total.elapsedMs += performance.now() - begun;
      const catchingUp = performance.now();
      if (bot.kind === 'signpost') await bot.request('caughtUp');
      total.catchUpMs += performance.now() - catchingUp;
      const ownCpu = process.cpuUsage(cpu);
      total.ownCpuMicros += ownCpu.user + ownCpu.system;
      const botAfter = await bot.request('usage', {});
      total.botCpuMicros += botAfter.cpuMicros - botBefore.cpuMicros;
      if (botAfter.storageRequests !== undefined) total.storageRequests = (total.storageRequests ?? 0) + botAfter.storageRequests - (botBefore.storageRequests ?? 0);
    }
  }
  const measured = {} as Record<K, Latencies>;
  for (const [name, total] of totals) {
    const perTurn = (micros: number) => micros / 1000 / Math.max(1, total.times.length);
    const latencies: Latencies = summarise(total.times, total.elapsedMs, perTurn(total.botCpuMicros), perTurn(total.ownCpuMicros));
    if (total.storageRequests !== undefined) latencies.storageRequestsPerTurn = round(total.storageRequests / Math.max(1, total.times.length));
    if (loads[name].bot.kind === 'signpost') latencies.perSecondWithWorkBehind = round(total.times.length / ((total.elapsedMs + total.catchUpMs) / 1000));
    measured[name] = latencies;
  }
  return measured;
}

function summarise(times: number[], elapsedMs: number, cpuMsPerTurn: number, loadGeneratorCpuMsPerTurn: number): Latencies {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    turns: times.length,
    perSecond: elapsedMs ? round(times.length / (elapsedMs / 1000)) : 0,
    p50Ms: round(percentile(sorted, 0.5)),
    p99Ms: round(percentile(sorted, 0.99)),
    cpuMsPerTurn: round(cpuMsPerTurn),
    loadGeneratorCpuMsPerTurn: round(loadGeneratorCpuMsPerTurn),
  };
}

/**
 * One referral step: submits the card's answers as Teams does and finds the card that comes
 * next. The only place that knows how a step is submitted (a message whose value is the card's
 * data) and where the next card comes from (posted to the conversation through the Connector).
 */
async function submitStep(
  botUrl: string,
  connector: LoopbackConnector,
  who: Sender,
  card: Record<string, any>,
  step: (typeof STEPS)[number],
): Promise<{ ok: boolean; took: number; card: Record<string, any> }> {
  const inputs = step === 'matches' ? { serviceId: inputValue(card, 'serviceId') } : step === 'summary' ? {} : ANSWERS[step];
  const begun = performance.now();
  // A press of the card's button, as Teams sends it: a Universal Action whose answer is the card that replaces it.
  const { status, body } = await post(botUrl, activityFrom(connector, { ...who, ...cardClick(card.actions?.[0]?.verb, { ...submitData(card), ...inputs }) }));
  const took = performance.now() - begun;
  const { statusCode, card: next } = clickAnswer(status, body);
  if (!next) return { ok: false, took, card };
  return { ok: statusCode === 200, took, card: next };
}

/** The card a bot answered a click with (a Universal Action's answer), if it answered with one. */
function clickAnswer(status: number, body: string): { statusCode?: number; card?: Record<string, any> } {
  const answer = status === 200 ? (JSON.parse(body) as { statusCode?: number; type?: string; value?: Record<string, any> }) : {};
  return { statusCode: answer.statusCode, card: answer.type === 'application/vnd.microsoft.card.adaptive' ? answer.value : undefined };
}

type StorageCount = () => Promise<StorageMark & { replied: StorageMark }>;
/** Storage requests just before a turn was sent, and when Signpost finished writing its reply. */
interface StorageSpan {
  before: StorageMark;
  replied: StorageMark;
}

/**
 * A click on the form-floor bot's card with an answer (its first, with no card yet, begins the
 * form); the card that replaces it.
 */
async function floorClick(
  botUrl: string,
  connector: LoopbackConnector,
  who: Sender,
  card: Record<string, any> | undefined,
): Promise<{ ok: boolean; took: number; card: Record<string, any> }> {
  const action = card?.actions?.[0];
  const begun = performance.now();
  const { status, body } = await post(botUrl, activityFrom(connector, { ...who, ...cardClick(action?.verb ?? FLOOR_STEP_VERB, { ...action?.data, answer: 'Company at lunchtime' }) }));
  const took = performance.now() - begun;
  const next = clickAnswer(status, body).card;
  // Each answered click gives a card with a new token; the same one back means the click was refused.
  const ok = Boolean(next) && (!card || JSON.stringify(next!.actions?.[0]?.data) !== JSON.stringify(action?.data));
  return { ok, took, card: next ?? card ?? {} };
}

/** One more referral, alone, counting the storage requests made until Send is answered. */
async function countedSend(botUrl: string, connector: LoopbackConnector, storage: StorageCount): Promise<StorageSpan> {
  const who: Sender = { from: { id: '29:lone', name: 'Lone Referrer' }, conversation: { id: 'a:lone', conversationType: 'personal' } };
  await post(botUrl, activityFrom(connector, { ...who, text: 'refer' }));
  let card = lastCard(connector, who.conversation.id);
  for (const step of STEPS.slice(0, -1)) card = (await submitStep(botUrl, connector, who, card, step)).card;
  const before = await storage();
  await submitStep(botUrl, connector, who, card, 'summary');
  return { before, replied: (await storage()).replied };
}

/** One Accept, alone, counting its storage requests until it is answered. */
async function countedAccept(signpost: BotProcess, connector: LoopbackConnector, storage: StorageCount): Promise<StorageSpan> {
  const waiting = (await signpost.request('queue', { serviceId: 'sail' })).find((entry) => entry.status === 'submitted');
  if (!waiting) throw new Error('no submitted referral left to accept alone');
  const version = (await signpost.request('referral', { id: waiting.referralId }))!.referral.version;
  const before = await storage();
  await post(signpost.url, acceptClick(connector, connector.members[0], waiting.referralId, version));
  return { before, replied: (await storage()).replied };
}

/** Signpost's answer to an Accept said it was taken. */
function wasAccepted({ status, body }: { status: number; body: string }): boolean {
  return status === 200 && body.includes('Accepted by');
}

/** A link worker's click on Accept on a referral's card in the service's channel. */
function acceptClick(connector: LoopbackConnector, worker: { id: string; name: string }, referralId: string, version: number): Record<string, any> {
  return channelActivity(connector, {
    type: 'invoke', name: 'adaptiveCard/action', from: worker,
    value: { action: { type: 'Action.Execute', verb: 'accept', data: { referralId, version } } },
  });
}

function channelActivity(connector: LoopbackConnector, fields: Record<string, any>): Record<string, any> {
  return activityFrom(connector, {
    ...fields,
    conversation: { id: `${CHANNEL.channel};messageid=1`, conversationType: 'channel' },
    channelData: { team: { id: CHANNEL.team }, channel: { id: CHANNEL.channel } },
  });
}

/** The last card Signpost sent in a conversation. */
function lastCard(connector: LoopbackConnector, conversationId: string): Record<string, any> {
  const replies = connector.received.get(conversationId) ?? [];
  for (let index = replies.length - 1; index >= 0; index -= 1) {
    const content = replies[index].activity.attachments?.[0]?.content;
    if (content) return content;
  }
  throw new Error(`no card in ${conversationId}`);
}

/** A click on an Action.Execute button with this verb and data. */
function cardClick(verb: string, data: Record<string, unknown>): Record<string, any> {
  return { type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb, data } } };
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
