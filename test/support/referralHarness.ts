import { cardElements } from './adaptiveCards';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { Activity, ActivityTypes, TestAdapter } from 'botbuilder';
import { createLogger } from '../../bot/app/log';
import { loadConfig } from '../../bot/app/config';
import { createSignpost, Signpost, TableNames } from '../../bot/app/signpost';
import type { Messenger } from '../../bot/notifications/messenger';
import { southwarkDirectory } from '../../domain/directory/southwark';
import { DirectoryRepository } from '../../storage/directoryRepository';
import { ActivityRepository } from '../../storage/activityRepository';
import { sampleActivities } from '../../domain/directory/sampleActivities';
import { ReferralRepository } from '../../storage/referralRepository';
import { referralStorage } from '../../storage/referralStorage';
import type { ServiceQueueRepository } from '../../storage/serviceQueueRepository';
import type { OutboxRepository } from '../../storage/outboxRepository';
import type { ReferenceCounter } from '../../storage/referenceCounter';
import { ReferrerRepository } from '../../storage/referrerRepository';
import { ServiceChannelRepository } from '../../storage/serviceChannelRepository';
import type { TableConnection } from '../../storage/tables';
import { TimerRepository } from '../../storage/timerRepository';
import { SupervisorRepository } from '../../storage/supervisorRepository';
import { ContactRepository } from '../../storage/contactRepository';
import { Supervision } from '../../bot/supervision/supervision';
import { WorkingCalendar } from '../../domain/supervision/workingCalendar';
import { bankHolidays } from '../../bot/supervision/bankHolidays';
import type { Timer } from '../../domain/supervision/policy';
import { uniqueTableName } from './azurite';
import { FORM_STEP_VERB } from '../../dialogs/cardStepPrompt';

export const FIXED_NOW = new Date('2026-11-24T12:00:00Z');

export interface Person {
  id: string;
  name: string;
}
export const RECEPTIONIST: Person = { id: '29:receptionist', name: 'Amira Patel' };
export const GP: Person = { id: '29:gp', name: 'Dr Sam Okafor' };

/** Everything one test needs, on its own tables in a shared Azurite. */
export interface ReferralWorld {
  tables: TableConnection;
  names: Required<TableNames>;
  directory: DirectoryRepository;
  activities: ActivityRepository;
  referrals: ReferralRepository;
  queue: ServiceQueueRepository;
  outbox: OutboxRepository;
  references: ReferenceCounter;
  referrers: ReferrerRepository;
  channels: ServiceChannelRepository;
  timers: TimerRepository;
  supervisors: SupervisorRepository;
  contacts: ContactRepository;
  logLines: string[];
}

/** The supervision rules on a world's tables: default working hours, England and Wales holidays. */
export function supervisionFor(world: ReferralWorld, options: { admins?: string[]; now?: () => Date; retentionMonths?: number } = {}): Supervision {
  return new Supervision({
    directory: world.directory,
    supervisors: world.supervisors,
    contacts: world.contacts,
    timers: world.timers,
    channelLinks: world.channels,
    calendar: new WorkingCalendar(undefined, bankHolidays('GB-ENG')),
    admins: options.admins ?? [],
    now: options.now ?? (() => FIXED_NOW),
    retentionMonths: options.retentionMonths,
  });
}

export async function createWorld(tables: TableConnection): Promise<ReferralWorld> {
  const names: Required<TableNames> = {
    referralPrefix: uniqueTableName('t'),
    botState: uniqueTableName('state'),
    directory: uniqueTableName('dir'),
    activities: uniqueTableName('activities'),
    referrers: uniqueTableName('referrers'),
    channels: uniqueTableName('channels'),
    timers: uniqueTableName('timers'),
    supervisors: uniqueTableName('supervisors'),
    contacts: uniqueTableName('contacts'),
    emailIntake: uniqueTableName('intake'),
  };
  const directory = new DirectoryRepository(tables, names.directory);
  await directory.seedIfEmpty(southwarkDirectory());
  const activities = new ActivityRepository(tables, names.activities);
  await activities.seedIfEmpty(sampleActivities());
  return {
    tables,
    names,
    directory,
    activities,
    ...referralStorage(tables, { tablePrefix: names.referralPrefix }),
    referrers: new ReferrerRepository(tables, names.referrers),
    channels: new ServiceChannelRepository(tables, names.channels),
    timers: new TimerRepository(tables, names.timers),
    supervisors: new SupervisorRepository(tables, names.supervisors),
    contacts: new ContactRepository(tables, names.contacts),
    logLines: [],
  };
}

/**
 * A Signpost bot on a TestAdapter, with real Table storage, built by the same composition root
 * as the server: a new harness on the same world is a restarted bot (new process, same storage).
 */
export class ReferralHarness {
  readonly adapter: TestAdapter;
  readonly signpost: Signpost;

  constructor(
    readonly world: ReferralWorld,
    conversation: { id: string; conversationType: string } = { id: 'chat-1', conversationType: 'personal' },
    options: { settings?: Record<string, string>; messenger?: Messenger } = {},
  ) {
    this.adapter = new TestAdapter(async (context) => this.signpost.bot.run(context));
    this.signpost = createSignpost({
      config: loadConfig({ SIGNPOST_DATA_DIR: path.join(tmpdir(), 'signpost-harness'), ...options.settings }),
      messenger: options.messenger,
      tables: world.tables,
      adapter: this.adapter,
      names: world.names,
      logger: createLogger('debug', (line) => world.logLines.push(line)),
      now: () => FIXED_NOW,
    });
    this.adapter.conversation.conversation = { ...this.adapter.conversation.conversation!, ...conversation, isGroup: conversation.conversationType !== 'personal' } as never;
  }

  /**
   * Sends text, or presses a form card's button with these inputs (a Universal Action, as Teams
   * does); returns every reply of that turn, the click's answer among them as a message: the
   * card that replaced the clicked one, or the sentence shown beside it.
   */
  async send(input: string | Record<string, unknown>, from: Person = RECEPTIONIST): Promise<Partial<Activity>[]> {
    if (typeof input === 'string') return this.receive({ type: ActivityTypes.Message, text: input }, from);
    const replies = await this.receive(formClick(input), from);
    return replies.map((reply) => (reply.type === ActivityTypes.InvokeResponse ? clickAnswerAsMessage((reply.value as { body: FormClickAnswer }).body) : reply));
  }

  /** A card submission as a message (Action.Submit), as form cards sent before forms advanced in place still do. */
  async sendAsMessage(value: Record<string, unknown>, from: Person = RECEPTIONIST): Promise<Partial<Activity>[]> {
    return this.receive({ type: ActivityTypes.Message, value, text: '' }, from);
  }

  private async receive(activity: Partial<Activity>, from: Person): Promise<Partial<Activity>[]> {
    await this.adapter.receiveActivity({ ...activity, from: { id: from.id, name: from.name } });
    const replies: Partial<Activity>[] = [];
    while (this.adapter.activeQueue.length) replies.push(this.adapter.activeQueue.shift()!);
    return replies;
  }
}

/** A press of a form card's button with its data and inputs, as Teams sends it (a Universal Action). */
export function formClick(data: Record<string, unknown>): Partial<Activity> {
  return { type: ActivityTypes.Invoke, name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb: FORM_STEP_VERB, data } } };
}

/** The body of Signpost's answer to a Universal Action. */
export interface FormClickAnswer {
  statusCode: number;
  type: string;
  value: unknown;
}

/** A click's answer as the message a person sees: the card that replaced the clicked one, or the sentence beside it. */
export function clickAnswerAsMessage(answer: FormClickAnswer): Partial<Activity> {
  if (answer.type === 'application/vnd.microsoft.card.adaptive') {
    return { type: ActivityTypes.Message, attachments: [{ contentType: answer.type, content: answer.value }] };
  }
  return { type: ActivityTypes.Message, text: typeof answer.value === 'string' ? answer.value : JSON.stringify(answer.value) };
}

export function lastCard(replies: Partial<Activity>[]): Record<string, any> {
  const withCard = [...replies].reverse().find((reply) => reply.attachments?.length);
  if (!withCard) throw new Error(`expected a card, got: ${replies.map((reply) => reply.text).join(' | ')}`);
  return withCard.attachments![0].content;
}

export function replyText(replies: Partial<Activity>[]): string {
  return replies.map((reply) => reply.text ?? '').join('\n');
}

/** The submit data a card's primary (first) action carries: step id and one-time token. */
export function submitData(card: Record<string, any>): { step: string; token: string } {
  const data = card.actions?.[0]?.data;
  if (!data?.step || !data?.token) throw new Error('card has no submit action with step and token');
  return { step: data.step, token: data.token };
}

/** A submission of a card: its own step and token plus the inputs. */
export function fill(card: Record<string, any>, inputs: Record<string, unknown>): Record<string, unknown> {
  return { ...submitData(card), ...inputs };
}

/** The value an input currently shows on a card. */
export function inputValue(card: Record<string, any>, id: string): unknown {
  // The last one, as before: a card shows each input once.
  return cardElements(card).filter((node) => typeof node.type === 'string' && node.type.startsWith('Input.') && node.id === id).pop()?.value;
}

export const VALID = {
  referrer: { name: 'Amira Patel', email: 'amira.patel@southwark-practice.example', practice: 'Lordship Lane Surgery', role: 'Receptionist' },
  consent: { consentToReferral: 'yes', consentToShare: 'yes', method: 'verbal' },
  safety: { immediateRisk: 'no' },
  person: {
    givenName: 'Jane',
    familyName: 'Example',
    dateOfBirth: '1950-03-14',
    nhsNumber: '943 476 5919',
    postcode: 'se5 8au',
    borough: 'southwark',
    phone: '020 7946 0000',
    preferredContactMethod: 'phone',
    email: '',
    preferredContactTimes: 'Weekday mornings',
    language: 'English',
    interpreterNeeded: 'no',
    carerInvolved: 'no',
    carerDetails: '',
  },
  needs: {
    longTermConditions: '1',
    mentalHealth: 'none',
    mentalHealthDiagnosis: 'no',
    usingTalkingTherapies: 'no',
    dementiaDiagnosis: 'no',
    sociallyIsolated: 'yes',
    malnutritionRisk: 'no',
    carer: 'no',
    dischargeFrom: 'none',
    gpBorough: 'southwark',
    referralRoute: 'gp',
    whatMatters: 'Wants company at lunchtime and to get back to the allotment',
  },
};

/** Walks the dialog from `refer` to the card of the named step, with valid answers. */
export async function walkTo(
  harness: ReferralHarness,
  step: 'referrer' | 'consent' | 'safety' | 'person' | 'needs' | 'matches' | 'summary',
  overrides: Partial<typeof VALID> = {},
  from: Person = RECEPTIONIST,
): Promise<Record<string, any>> {
  const answers = { ...VALID, ...overrides };
  let card = lastCard(await harness.send('refer', from));
  for (const name of ['referrer', 'consent', 'safety', 'person', 'needs', 'matches'] as const) {
    if (name === step) return card;
    const inputs = name === 'matches' ? { serviceId: inputValue(card, 'serviceId') } : answers[name];
    card = lastCard(await harness.send(fill(card, inputs as Record<string, unknown>), from));
  }
  return card;
}

/** Timers not yet done, read straight from their table (what sweeps would come to). */
export async function pendingTimers(tables: TableConnection, tableName: string, filter: (timer: Timer) => boolean = () => true): Promise<Timer[]> {
  const found: Timer[] = [];
  for await (const row of tables.client(tableName).listEntities<{ body: string; done?: boolean }>()) {
    const timer = JSON.parse(row.body) as Timer;
    if (!row.done && filter(timer)) found.push(timer);
  }
  return found;
}
