import path from 'node:path';
import type { AddressInfo } from 'node:net';
import * as restify from 'restify';
import { CloudAdapter, ConfigurationBotFrameworkAuthentication, TurnContext } from 'botbuilder';
import { ReusedConnectorClients } from '../teams/reusedConnectorClients';
import packageJson from '../../package.json';
import { startAzurite, RunningAzurite } from '../../storage/azurite';
import { isStorageUnavailable, RequestObserver, TableConnection } from '../../storage/tables';
import { southwarkDirectory } from '../../domain/directory/southwark';
import { sampleActivities } from '../../domain/directory/sampleActivities';
import { loadConfig, SignpostConfig } from './config';
import { createLogger, describeError, Logger, withLogFields } from './log';
import { conversationType } from '../teams/places';
import { createSignpost, Signpost } from './signpost';
import { prepareTemplates } from '../../cards/render';
import { CARD_TEMPLATES } from '../../cards/templates';
import { retentionCatchUpTimer, unfinishedFormsTimer } from '../../domain/referral/retention';
import { answerStorageUnavailable } from '../teams/storageUnavailable';
import { answerFailedInvoke } from '../teams/invokeResponses';
import { refuse, ServiceUrlRefresher } from '../teams/admission';
import { mountTab } from '../tab/tabRoutes';
import { TabAccess } from '../tab/tabAccess';
import { playgroundPeople } from '../tab/tabPeople';
import { EntraTokenVerifier } from '../auth/entraToken';
import { registerEmailRoutes } from '../email/emailRoutes';
import { ACTIONABLE_MESSAGES_APP_ID } from '../email/emailActions';
import { MAX_LINK_TOKEN_CHARS } from '../email/linkSigner';

export interface SignpostOptions {
  /** Settings; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Overrides PORT; 0 picks a free port (tests). */
  port?: number;
  /** Interface to listen on; when omitted, SIGNPOST_HOST, else loopback in local mode and all interfaces (a container needs that) when authenticated. */
  host?: string;
  /** Overrides SIGNPOST_DATA_DIR. */
  dataDir?: string;
  /** Overrides SIGNPOST_STORAGE_CONNECTION_STRING. */
  connectionString?: string;
  logger?: Logger;
  /** The clock; tests fix it. */
  now?: () => Date;
  /** Sees every storage request (method and URL): benchmarks count them per turn. */
  observeStorage?: RequestObserver;
}

export interface RunningSignpost {
  url: string;
  port: number;
  config: SignpostConfig;
  tables: TableConnection;
  /** Every part of the running Signpost (tests inspect its storage and call its application layer). */
  signpost: Signpost;
  /** The embedded storage, when Signpost started it (no connection string). */
  azurite?: RunningAzurite;
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
        'MicrosoftAppId is empty: running unauthenticated for the Agents Playground and tests, on this machine only. ' +
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
  const tables = new TableConnection(connectionString, { timeoutMs: config.storageTimeoutMs, observe: options.observeStorage });

  try {
    await tables.table('botstate');
    // The server owns HTTP, so it owns the adapter that processes requests.
    const adapter = new CloudAdapter(new ReusedConnectorClients(new ConfigurationBotFrameworkAuthentication(config.auth)));
    // Local mode's people are the playground's: the one who links a channel can try `verify` there.
    const signpost = createSignpost({ config, tables, adapter, logger, now: options.now, ...(config.localMode ? { playgroundPeople: playgroundPeople() } : {}) });
    const { bot, dispatcher, scheduler, supervision, mailer, conversationState } = signpost;
    if (await signpost.store.directory.seedIfEmpty(southwarkDirectory())) {
      logger.info('directory-seeded', { services: (await signpost.store.directory.list()).length });
    }
    if (await signpost.store.activities.seedIfEmpty(sampleActivities())) {
      logger.info('activities-seeded', { activities: (await signpost.store.activities.list()).length, illustrative: true });
    }
    logger.info('mail', { delivery: mailer.description });

    adapter.onTurnError = async (context: TurnContext, error: unknown) => {
      // The user sees a plain apology; the log sees what failed, never what was typed.
      logger.error('turn-error', {
        ...describeError(error),
        activityType: context.activity.type,
        conversationType: conversationType(context),
      });
      try {
        // Storage did not answer: say so at once, and leave state alone (deleting it would wait on storage again).
        if (isStorageUnavailable(error)) {
          await answerStorageUnavailable(context);
          return;
        }
        if (context.activity.type === 'invoke') {
          await answerFailedInvoke(context);
          return;
        }
        await context.sendActivity(
          'Sorry, something went wrong on our side and I could not finish that. Please try again; ' +
            'nothing you entered before this message has been lost.',
        );
        await conversationState.delete(context);
      } catch (sendError) {
        logger.error('turn-error-reply-failed', describeError(sendError));
      }
    };

    // An email link's signed token is one path segment of a few hundred characters.
    const server = restify.createServer({ name: 'signpost', maxParamLength: MAX_LINK_TOKEN_CHARS });
    server.use(restify.plugins.bodyParser({ maxBodySize: 256 * 1024 }));

    let inFlight = 0;
    let draining = false;
    let drained: (() => void) | undefined;

    const serviceUrls = new ServiceUrlRefresher(signpost.store, logger, signpost.now);
    server.post('/api/messages', async (req, res) => {
      if (draining) {
        res.send(503, { error: 'Signpost is restarting; Teams will retry.' });
        return;
      }
      const refusal = refuse(config, req.body, req.header('authorization'));
      if (refusal) {
        logger.warn('activity-refused', { reason: refusal.reason, status: refusal.status, tenantId: refusal.tenantId });
        res.send(refusal.status, { error: refusal.message });
        return;
      }
      inFlight += 1;
      signpost.foreground.begin();
      try {
        // Every line logged during this turn, in any layer, carries the activity's id (Teams' own, not person data).
        const activityId = typeof req.body?.id === 'string' ? req.body.id.slice(0, 120) : undefined;
        await withLogFields({ activityId }, () =>
          // Stored conversations follow a new serviceUrl alongside the turn, so a slow store costs one deadline, not two.
          adapter.process(req, res, async (context) => {
            await Promise.all([serviceUrls.refresh(context), bot.run(context)]);
          }),
        );
      } finally {
        inFlight -= 1;
        signpost.foreground.end();
        if (inFlight === 0) drained?.();
      }
    });

    // Outlook's tokens come from the recipient's own organisation (a charity's tenant as much as
    // the NHS's): who may act is decided by the address the email went to, not the tenant.
    const actionableMessages = config.email.actionableMessageAudience
      ? new EntraTokenVerifier({ jwksUrl: config.entraJwksUrl, audiences: [config.email.actionableMessageAudience], tenants: config.email.actionableMessageTenants, authorizedParties: [ACTIONABLE_MESSAGES_APP_ID] })
      : undefined;
    registerEmailRoutes(server, {
      emailActions: signpost.emailActions,
      actions: signpost.actions,
      signer: signpost.signer,
      referrals: signpost.store.referrals,
      directory: signpost.store.directory,
      intake: signpost.store.intake,
      codes: signpost.confirmationCodes,
      verifier: actionableMessages,
      logger,
      now: signpost.now,
    });
    signpost.directoryEmail.register(server, actionableMessages);

    server.get('/api/health', async (_req, res) => {
      const storage = await storageStatus(tables);
      // Notifications that failed for good are counted here so they are never silently lost.
      const outbox = storage === 'ok' ? await signpost.store.outbox.counts().catch(() => undefined) : undefined;
      res.send(storage === 'ok' ? 200 : 503, {
        name: packageJson.name,
        version: packageJson.version,
        status: storage === 'ok' ? 'ok' : 'unavailable',
        storage,
        mode: config.localMode ? 'local' : 'authenticated',
        notifications: outbox ? { pending: outbox.pending, failed: outbox.failed } : undefined,
      });
    });

    // The tab's default SSO audience is built from the public address, known once listening.
    let listeningUrl = '';
    const tabAccess = new TabAccess(config, () => config.publicUrl || listeningUrl);
    mountTab(server, { access: tabAccess, views: signpost.tabViews, logger });

    // Every card template parsed before the first turn, not by the first people to use this instance.
    prepareTemplates(Object.values(CARD_TEMPLATES));
    const port = config.port;
    const host = options.host ?? config.host;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (host) server.listen(port, host, () => resolve());
      else server.listen(port, () => resolve());
    });
    const address = server.address() as AddressInfo;
    const url = `http://${!host ? 'localhost' : host.includes(':') ? `[${host}]` : host}:${address.port}`;
    listeningUrl = url;
    // Links in email need an address: on the embedded default, this machine's.
    if (!config.publicUrl) config.publicUrl = `http://localhost:${address.port}`;
    logger.info('listening', { url, messagesEndpoint: `${url}/api/messages`, publicUrl: config.publicUrl, tab: `${url}/tab` });
    dispatcher.start(config.notify.pollMs);
    // Standing clocks, each idempotent (an existing timer is left as it is): side by side.
    await Promise.all([
      supervision.scheduleDigestsForLinkedServices(),
      signpost.directoryUpkeep.scheduleAll(),
      signpost.store.timers.schedule([retentionCatchUpTimer(signpost.now()), unfinishedFormsTimer(signpost.now())]),
    ]);
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

    return { url, port: address.port, config, tables, signpost, azurite, stop };
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
