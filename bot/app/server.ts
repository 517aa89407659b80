import path from 'node:path';
import type { AddressInfo } from 'node:net';
import * as restify from 'restify';
import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  ConversationState,
  PrivateConversationState,
  TurnContext,
  UserState,
} from 'botbuilder';
import packageJson from '../../package.json';
import { startAzurite, RunningAzurite } from '../../storage/azurite';
import { TableConnection } from '../../storage/tables';
import { TableStateStore } from '../../storage/tableStateStore';
import { DirectoryRepository } from '../../storage/directoryRepository';
import { ReferralRepository } from '../../storage/referralRepository';
import { ReferrerRepository } from '../../storage/referrerRepository';
import { southwarkDirectory } from '../../domain/directory/southwark';
import { ReferralService } from '../referrals/referralService';
import { loadConfig, SignpostConfig } from './config';
import { createLogger, describeError, Logger } from './log';
import { SignpostBot, conversationType } from '../teams/signpostBot';
import { ServiceChannels } from '../channels/serviceChannels';
import { ReferralActions } from '../referrals/referralActions';
import { createMailer } from '../notifications/mailer';
import { NotificationDispatcher } from '../notifications/notificationDispatcher';
import { ServiceChannelRepository } from '../../storage/serviceChannelRepository';
import { TimerRepository } from '../../storage/timerRepository';
import { SupervisorRepository } from '../../storage/supervisorRepository';
import { ContactRepository } from '../../storage/contactRepository';
import { WorkingCalendar } from '../../domain/supervision/workingCalendar';
import { bankHolidays } from '../supervision/bankHolidays';
import { Supervision } from '../supervision/supervision';
import { SupervisionScheduler } from '../supervision/supervisionScheduler';
import { EscalationActions } from '../supervision/escalationActions';
import { SupervisorCommands } from '../supervision/supervisorCommands';

export interface SignpostOptions {
  /** Settings; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Overrides PORT; 0 picks a free port (tests). */
  port?: number;
  /** Interface to listen on; all interfaces when omitted (a container needs that). */
  host?: string;
  /** Overrides SIGNPOST_DATA_DIR. */
  dataDir?: string;
  /** Overrides SIGNPOST_STORAGE_CONNECTION_STRING. */
  connectionString?: string;
  logger?: Logger;
  /** The clock; tests fix it. */
  now?: () => Date;
}

export interface RunningSignpost {
  url: string;
  port: number;
  config: SignpostConfig;
  tables: TableConnection;
  stop(): Promise<void>;
}

const HEALTH_TIMEOUT_MS = 3_000;
const SHUTDOWN_GRACE_MS = 15_000;

export async function startSignpost(options: SignpostOptions = {}): Promise<RunningSignpost> {
  const config = loadConfig({
    ...(options.env ?? process.env),
    ...(options.port !== undefined ? { PORT: String(options.port) } : {}),
    ...(options.dataDir ? { SIGNPOST_DATA_DIR: options.dataDir } : {}),
    ...(options.connectionString ? { SIGNPOST_STORAGE_CONNECTION_STRING: options.connectionString } : {}),
  });
  const logger = options.logger ?? createLogger(config.logLevel);

  if (config.localMode) {
    logger.warn('local-mode', {
      message:
        'MicrosoftAppId is empty: running unauthenticated for the Agents Playground and tests. ' +
        'Never expose this to the internet; set MicrosoftAppId and MicrosoftAppPassword for Teams.',
    });
  }

  // Storage first: a bot that cannot store must not accept referrals.
  let azurite: RunningAzurite | undefined;
  let connectionString = config.storageConnectionString;
  if (!connectionString) {
    const location = path.join(config.dataDir, 'azurite');
    azurite = await startAzurite({ location });
    connectionString = azurite.connectionString;
    logger.info('storage-embedded', { engine: 'azurite', location, port: azurite.port });
  } else {
    logger.info('storage-external', { engine: 'table-storage' });
  }
  const tables = new TableConnection(connectionString);

  try {
    const stateStore = new TableStateStore(tables);
    const conversationState = new ConversationState(stateStore);
    const privateConversationState = new PrivateConversationState(stateStore);
    const userState = new UserState(stateStore);
    await tables.table('botstate');

    const directory = new DirectoryRepository(tables);
    if (await directory.seedIfEmpty(southwarkDirectory())) {
      logger.info('directory-seeded', { services: (await directory.list()).length });
    }
    const now = options.now ?? (() => new Date());
    const referralRepository = new ReferralRepository(tables);
    const referrers = new ReferrerRepository(tables);
    const channelLinks = new ServiceChannelRepository(tables);
    const contacts = new ContactRepository(tables);
    const timers = new TimerRepository(tables);
    const supervisorStore = new SupervisorRepository(tables);
    const supervision = new Supervision({
      directory,
      supervisors: supervisorStore,
      contacts,
      timers,
      channelLinks,
      calendar: new WorkingCalendar(config.supervision.workingHours, bankHolidays(config.supervision.holidays)),
      admins: config.admins,
      now,
    });
    const referrals = new ReferralService({
      beforeStore: (referral) => supervision.prepare(referral),
      now,
      directory,
      referrals: referralRepository,
      referrers,
      nearMissYears: config.nearMissYears,
      verificationMaxAgeDays: config.verificationMaxAgeDays,
    });

    const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication(config.auth));
    adapter.onTurnError = async (context: TurnContext, error: unknown) => {
      // The user sees a plain apology; the log sees what failed, never what was typed.
      logger.error('turn-error', {
        ...describeError(error),
        activityType: context.activity.type,
        conversationType: conversationType(context),
      });
      try {
        await context.sendActivity(
          'Sorry, something went wrong on our side and I could not finish that. Please try again; ' +
            'nothing you entered before this message has been lost.',
        );
        await conversationState.delete(context);
      } catch (sendError) {
        logger.error('turn-error-reply-failed', describeError(sendError));
      }
    };

    const channels = new ServiceChannels({
      linked: (serviceId) => supervision.scheduleDigest(serviceId),
      appId: config.auth.MicrosoftAppId,
      channels: channelLinks,
      referrals: referralRepository,
      directory,
      logger,
      now,
    });
    const mailer = createMailer({ smtpUrl: config.mail.smtpUrl, from: config.mail.from, dataDir: config.dataDir });
    logger.info('mail', { delivery: mailer.description });
    const dispatcher = new NotificationDispatcher({
      appId: config.auth.MicrosoftAppId,
      adapter,
      referrals: referralRepository,
      referrers,
      mailer,
      contacts,
      channelLinks,
      originator: config.mail.originator,
      logger,
      baseDelayMs: config.notify.retryBaseMs,
      maxAttempts: config.notify.maxAttempts,
    });
    const actions = new ReferralActions({
      referrals: referralRepository,
      referrers,
      directory,
      channelLinks,
      channels,
      supervision,
      logger,
      now,
      notificationsQueued: () => dispatcher.kick(),
    });
    const escalations = new EscalationActions({
      referrals: referralRepository,
      referrers,
      directory,
      contacts,
      channels,
      supervision,
      logger,
      now,
      notificationsQueued: () => dispatcher.kick(),
    });
    const supervisorCommands = new SupervisorCommands({
      channelLinks,
      supervisors: supervisorStore,
      contacts,
      directory,
      referrals: referralRepository,
      channels,
      supervision,
      logger,
      now,
    });
    const scheduler = new SupervisionScheduler({
      timers,
      referrals: referralRepository,
      supervision,
      logger,
      now,
      notificationsQueued: () => dispatcher.kick(),
    });
    const bot = new SignpostBot({
      conversationState,
      privateConversationState,
      userState,
      referrals,
      channels,
      actions,
      referralStore: referralRepository,
      admins: config.admins,
      escalations,
      supervisorCommands,
      contacts,
      logger,
      now,
    });
    const server = restify.createServer({ name: 'signpost' });
    server.use(restify.plugins.bodyParser({ maxBodySize: 256 * 1024 }));

    let inFlight = 0;
    let draining = false;
    let drained: (() => void) | undefined;

    server.post('/api/messages', async (req, res) => {
      if (draining) {
        res.send(503, { error: 'Signpost is restarting; Teams will retry.' });
        return;
      }
      inFlight += 1;
      try {
        await adapter.process(req, res, (context) => bot.run(context));
      } finally {
        inFlight -= 1;
        if (inFlight === 0) drained?.();
      }
    });

    server.get('/api/health', async (_req, res) => {
      const storage = await storageStatus(tables);
      // Notifications that failed for good are counted here so they are never silently lost.
      const outbox = storage === 'ok' ? await referralRepository.outboxCounts().catch(() => undefined) : undefined;
      res.send(storage === 'ok' ? 200 : 503, {
        name: packageJson.name,
        version: packageJson.version,
        status: storage === 'ok' ? 'ok' : 'unavailable',
        storage,
        mode: config.localMode ? 'local' : 'authenticated',
        notifications: outbox ? { pending: outbox.pending, failed: outbox.failed } : undefined,
      });
    });

    const port = config.port;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (options.host) server.listen(port, options.host, () => resolve());
      else server.listen(port, () => resolve());
    });
    const address = server.address() as AddressInfo;
    const url = `http://${options.host ?? 'localhost'}:${address.port}`;
    logger.info('listening', { url, messagesEndpoint: `${url}/api/messages` });
    dispatcher.start(config.notify.pollMs);
    await supervision.scheduleDigestsForLinkedServices();
    scheduler.start(config.supervision.pollMs);

    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        draining = true;
        logger.info('stopping', { inFlightTurns: inFlight });
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.server.closeIdleConnections();
        if (inFlight > 0) {
          await Promise.race([
            new Promise<void>((resolve) => (drained = resolve)),
            new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref()),
          ]);
        }
        server.server.closeAllConnections();
        await closed;
        await scheduler.stop();
        await dispatcher.stop();
        mailer.close();
        await azurite?.stop();
        logger.info('stopped');
      })());

    return { url, port: address.port, config, tables, stop };
  } catch (error) {
    await azurite?.stop();
    throw error;
  }
}

async function storageStatus(tables: TableConnection): Promise<string> {
  try {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      tables.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
      }),
    ]).finally(() => clearTimeout(timer));
    return 'ok';
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = error instanceof Error ? error.message.split('\n')[0].slice(0, 200) : String(error);
    return `error: ${code ? `${code}: ` : ''}${message}`;
  }
}
