import { ForegroundTurns } from './foregroundTurns';
import { BotAdapter, CloudAdapter, ConfigurationBotFrameworkAuthentication, ConversationState, PrivateConversationState, UserState } from 'botbuilder';
import { TableConnection } from '../../storage/tables';
import { TableStateStore } from '../../storage/tableStateStore';
import { CachedStateStore } from '../../storage/cachedStateStore';
import { DirectoryRepository } from '../../storage/directoryRepository';
import { ActivityRepository } from '../../storage/activityRepository';
import { referralStorage } from '../../storage/referralStorage';
import { ReferrerRepository } from '../../storage/referrerRepository';
import { ServiceChannelRepository } from '../../storage/serviceChannelRepository';
import { TimerRepository } from '../../storage/timerRepository';
import { SupervisorRepository } from '../../storage/supervisorRepository';
import { ContactRepository } from '../../storage/contactRepository';
import { WorkingCalendar } from '../../domain/supervision/workingCalendar';
import type { SignpostConfig } from './config';
import type { Logger } from './log';
import { bankHolidays } from '../supervision/bankHolidays';
import { Supervision } from '../supervision/supervision';
import { SupervisionScheduler } from '../supervision/supervisionScheduler';
import { SupervisorCommands } from '../supervision/supervisorCommands';
import { DirectoryCommands } from '../directory/directoryCommands';
import { DirectoryUpkeep } from '../directory/directoryUpkeep';
import { DirectoryEmail } from '../directory/directoryEmail';
import { ConfirmationCodes } from '../email/confirmationCodes';
import { ReferralService } from '../referrals/referralService';
import { ReferralActions } from '../referrals/referralActions';
import { ServiceChannels } from '../channels/serviceChannels';
import { LinkWorkerRoster } from '../channels/roster';
import { createMailer, Mailer, mailFolder } from '../notifications/mailer';
import { PersonDataRepository } from '../../storage/personDataRepository';
import { PersonData } from '../privacy/personData';
import type { Messenger } from '../notifications/messenger';
import { NotificationDispatcher } from '../notifications/notificationDispatcher';
import { TeamsMessenger } from '../teams/teamsMessenger';
import { TeamsCardActions } from '../teams/cardActions';
import { SignpostBot } from '../teams/signpostBot';
import { AdminStatus } from './adminStatus';
import { TabViews } from '../tab/tabViews';
import { ReportTotals, reportCountMessage } from '../reports/reportTotals';
import { ReportCounterRepository } from '../../storage/reportCounterRepository';
import { EmailIntakeRepository } from '../../storage/emailIntakeRepository';
import { IntakeAddresses } from '../email/intake';
import { IntakeCommands } from '../email/intakeCommands';
import { EmailActions } from '../email/emailActions';
import { LinkSigner, linkSecret } from '../email/linkSigner';

/**
 * The composition root: every part of Signpost, wired once. The server, `npm run dev`, the
 * benchmarks and the tests' harness all build Signpost here, so none of them can drift.
 * Storage tables can be renamed (tests give each world tables of its own).
 */

export interface TableNames {
  /** Prefix for the referral tables (referrals, queue, counters, outbox index). */
  referralPrefix?: string;
  botState?: string;
  directory?: string;
  activities?: string;
  referrers?: string;
  channels?: string;
  timers?: string;
  supervisors?: string;
  contacts?: string;
  emailIntake?: string;
}

export interface SignpostParts {
  config: SignpostConfig;
  tables: TableConnection;
  /** Where proactive turns run: the server's CloudAdapter, a TestAdapter in tests; by default a CloudAdapter with the configured credentials (tools that send nothing). */
  adapter?: BotAdapter;
  logger: Logger;
  now?: () => Date;
  names?: TableNames;
  /** Replaces the Teams messenger (tests that run on a TestAdapter). */
  messenger?: Messenger;
  mailer?: Mailer;
  /**
   * Local mode's made-up people (the Agents Playground's): whoever of them links a service's
   * channel also maintains its directory entry, so `npm run dev` can show `verify`. Never with real Teams.
   */
  playgroundPeople?: Array<{ id: string; name: string; email?: string }>;
}

export type Signpost = ReturnType<typeof createSignpost>;

export function createSignpost(parts: SignpostParts) {
  const { config, tables, logger } = parts;
  const now = parts.now ?? (() => new Date());
  const names = parts.names ?? {};

  // Bot state, remembering what this process last read or wrote so a form click can skip the read.
  const stateStore = new CachedStateStore(new TableStateStore(tables, names.botState));
  const store = {
    directory: new DirectoryRepository(tables, names.directory),
    activities: new ActivityRepository(tables, names.activities),
    ...referralStorage(tables, { tablePrefix: names.referralPrefix }),
    referrers: new ReferrerRepository(tables, names.referrers),
    channelLinks: new ServiceChannelRepository(tables, names.channels),
    timers: new TimerRepository(tables, names.timers),
    supervisors: new SupervisorRepository(tables, names.supervisors),
    contacts: new ContactRepository(tables, names.contacts),
    intake: new EmailIntakeRepository(tables, names.emailIntake),
  };
  const intake = new IntakeAddresses(store);
  const intakeAddresses = (serviceId: string) => intake.of(serviceId);
  const adapter = parts.adapter ?? new CloudAdapter(new ConfigurationBotFrameworkAuthentication(config.auth));
  const messenger = parts.messenger ?? new TeamsMessenger(adapter, config.auth.MicrosoftAppId);
  const mailer = parts.mailer ?? createMailer({ smtpUrl: config.mail.smtpUrl, from: config.mail.from, dataDir: config.dataDir });

  const supervision = new Supervision({
    directory: store.directory,
    supervisors: store.supervisors,
    contacts: store.contacts,
    timers: store.timers,
    channelLinks: store.channelLinks,
    calendar: new WorkingCalendar(config.supervision.workingHours, bankHolidays(config.supervision.holidays)),
    admins: config.admins,
    intakeAddresses,
    now,
    retentionMonths: config.retentionMonths,
  });
  const roster = new LinkWorkerRoster(messenger, store.channelLinks, now);
  const channels = new ServiceChannels({
    channels: store.channelLinks,
    referrals: store.referrals,
    queue: store.queue,
    directory: store.directory,
    activities: store.activities,
    messenger,
    roster,
    logger,
    now,
    linked: async (serviceId, linkedBy) => {
      await supervision.scheduleDigest(serviceId);
      const demo = parts.playgroundPeople?.find((person) => person.id === linkedBy.id);
      if (demo?.email) return directoryCommands.linkerMaintains(serviceId, { id: demo.id, name: demo.name, email: demo.email });
    },
  });
  const personData = new PersonData({
    referrals: store.referrals,
    personData: new PersonDataRepository(tables, { tablePrefix: names.referralPrefix }),
    stateStore,
    timers: store.timers,
    // Only the embedded default keeps copies of mail; a mailer given by a test keeps its own.
    mailFolder: parts.mailer || config.mail.smtpUrl ? undefined : mailFolder(config.dataDir),
    retentionMonths: config.retentionMonths,
    unfinishedFormDays: config.unfinishedFormDays,
    logger,
    now,
  });
  const reportTotals = new ReportTotals({
    counters: new ReportCounterRepository(tables, { tablePrefix: names.referralPrefix }),
    referrals: store.referrals,
    calendar: supervision.calendar,
  });
  // Every stored change carries the message that counts it for the borough report.
  store.referrals.queueWithEveryChange((referral, event) => [reportCountMessage(referral, event)]);
  // Turns being answered now (counted by the server): background work lets them go first.
  const foreground = new ForegroundTurns();
  const dispatcher = new NotificationDispatcher({
    foreground,
    messenger,
    referrals: store.referrals,
    outbox: store.outbox,
    referrers: store.referrers,
    mailer,
    contacts: store.contacts,
    channelLinks: store.channelLinks,
    originator: config.mail.originator,
    logger,
    baseDelayMs: config.notify.retryBaseMs,
    maxAttempts: config.notify.maxAttempts,
    postReferral: (referralId, current) => channels.postReferral(referralId, current),
    intakeAddresses,
    get emailActions() {
      return emailActions;
    },
    get directoryEmail() {
      return directoryEmail;
    },
    refreshReferral: (referralId, current) => channels.refreshReferral(referralId, current),
    // From the record as it stands: a later change's clocks supersede an earlier one's.
    countForReports: (referralId, payload, current) => reportTotals.countQueued(referralId, payload, current),
    startClocks: async (_referralId, current) => {
      if (current) await supervision.prepare(current);
    },
  });
  const notificationsQueued = () => dispatcher.kick();
  const referralService = new ReferralService({
    now,
    directory: store.directory,
    referrals: store.referrals,
    references: store.references,
    referrers: store.referrers,
    nearMissYears: config.nearMissYears,
    verificationMaxAgeDays: config.verificationMaxAgeDays,
    channelLinks: store.channelLinks,
    notificationsQueued,
  });
  const actions = new ReferralActions({ ...store, channels, roster, supervision, logger, now, notificationsQueued, intakeAddresses, foreground });
  const signer = new LinkSigner(linkSecret(config.email.linkSecret, config.dataDir));
  const emailActions: EmailActions = new EmailActions({
    signer,
    actions,
    directory: store.directory,
    // Read when each email is written: the server fills in its own address once it listens.
    settings: { publicUrl: () => config.publicUrl, originator: config.mail.originator, linkExpiryDays: config.email.linkExpiryDays },
    now,
  });
  const directoryUpkeep = new DirectoryUpkeep({ ...store, supervision, logger, now, notificationsQueued, verifyAfterDays: config.directoryVerifyAfterDays });
  // One set of codes for every link page: referral and directory links share the per-link limits.
  const confirmationCodes = new ConfirmationCodes({ signer, intake: store.intake, mailer, now });
  const directoryEmail = new DirectoryEmail({
    signer,
    upkeep: directoryUpkeep,
    codes: confirmationCodes,
    intake: store.intake,
    originator: config.mail.originator,
    publicUrl: () => config.publicUrl,
    expiryDays: config.email.linkExpiryDays,
    logger,
    now,
  });
  const directoryCommands = new DirectoryCommands({ ...store, roster, supervision, upkeep: directoryUpkeep, logger, now });
  const scheduler = new SupervisionScheduler({ timers: store.timers, referrals: store.referrals, queue: store.queue, outbox: store.outbox, supervision, logger, now, notificationsQueued, retention: personData, directoryUpkeep });
  const supervisorCommands = new SupervisorCommands({ ...store, roster, supervision, logger, now });
  const adminStatus = new AdminStatus({ ...store, now });
  // The borough report's running totals follow every stored change.
  const tabViews = new TabViews({ ...store, roster, supervision, actions, reportTotals, commissioners: config.commissioners, logger, now });
  const conversationState = new ConversationState(stateStore);
  const bot = new SignpostBot({
    conversationState,
    privateConversationState: new PrivateConversationState(stateStore),
    userState: new UserState(stateStore),
    formStateCache: stateStore,
    referrals: referralService,
    channels,
    cardActions: new TeamsCardActions({ actions, channels, supervision, directory: store.directory, activities: store.activities, directoryUpkeep, now }),
    adminStatus,
    admins: config.admins,
    supervisorCommands,
    directoryCommands,
    intakeCommands: new IntakeCommands({ directory: store.directory, intake: store.intake, channelLinks: store.channelLinks, admins: config.admins, logger, now }),
    contacts: store.contacts,
    directory: store.directory,
    verificationMaxAgeDays: config.verificationMaxAgeDays,
    appId: config.auth.MicrosoftAppId,
    logger,
    now,
  });

  return { foreground, config, tables, store, stateStore, conversationState, messenger, mailer, supervision, dispatcher, scheduler, channels, referralService, actions, emailActions, signer, adminStatus, reportTotals, tabViews, bot, logger, now, personData, directoryUpkeep, directoryEmail, confirmationCodes };
}
