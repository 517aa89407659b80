import { mkdirSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { once } from 'node:events';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import path from 'node:path';
import { DataFolderLock, lockDataFolder } from './dataFolderLock';

/**
 * The process that runs Azurite's table server for the bot: `node azuriteHost.js <port> [folder]`.
 * startAzurite spawns it rather than Azurite's CLI so that:
 *
 * - it exits, saving, when the bot dies however it dies: the bot holds an IPC channel to it and
 *   the kernel closes that channel with the bot ('disconnect');
 * - it holds the data folder's lock for as long as it may write the folder;
 * - it acknowledges a write only once the write is on disk. Azurite keeps its tables in LokiJS
 *   in memory and saves them on a 5 s autosave timer (hard-coded in LokiTableMetadataStore,
 *   not an option), so a power cut lost up to 5 s of acknowledged writes. Here every response to
 *   a write waits for a save that includes it; writes arriving during a save share the next one.
 *
 * It reports readiness to the bot with the IPC message { type: 'ready', port }, and failures on stderr.
 */

/** The parts of Azurite 3.35.0's internals this host uses (the package publishes no types for them). */
interface LokiPersistenceAdapter {
  loadDatabase(file: string, done: (result: unknown) => void): void;
  saveDatabase(file: string, text: string, done: (error?: Error | null) => void): void;
}
interface LokiDatabase {
  persistenceAdapter: LokiPersistenceAdapter;
  throttledSavePending: boolean;
  autosaveDirty(): boolean;
  saveDatabase(done: (error?: Error | null) => void): void;
}
interface TableServer {
  readonly httpServer: Server;
  readonly metadataStore: { db: LokiDatabase };
  start(): Promise<void>;
  close(): Promise<void>;
}
type TableServerClass = new (configuration: unknown) => TableServer;
type TableConfigurationClass = new (...settings: unknown[]) => unknown;

const AZURITE_TABLE = 'azurite/dist/src/table';
/** Azurite's own file name in its folder, so folders written by earlier versions keep their data. */
const DATABASE_FILE = '__azurite_db_table__.json';
/** Seconds Azurite keeps an idle connection open (its default). */
const KEEP_ALIVE_SECONDS = 5;
/** A shutdown that takes longer than this is cut short; every acknowledged write is already on disk. */
const SHUTDOWN_DEADLINE_MS = 5_000;
const READ_ONLY_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const [portArgument, folder] = process.argv.slice(2);
let lock: DataFolderLock | undefined;
let server: TableServer | undefined;
let stopping: Promise<void> | undefined;

const started = start();
started.then(
  (port) => {
    if (process.connected) process.send?.({ type: 'ready', port });
  },
  async (error: Error) => {
    await lock?.release();
    fail(error.message);
  },
);
process.once('disconnect', stop);
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
// The bot's end of stderr goes when the bot does; a failed write must not stop the final save.
process.stderr.on('error', () => undefined);

async function start(): Promise<number> {
  const { default: TableServer } = require(`${AZURITE_TABLE}/TableServer`) as { default: TableServerClass };
  const { default: TableConfiguration } = require(`${AZURITE_TABLE}/TableConfiguration`) as {
    default: TableConfigurationClass;
  };
  const port = Number(portArgument);
  if (folder) {
    mkdirSync(folder, { recursive: true });
    lock = await lockDataFolder(folder, port, () => fail(`Azurite's lock on ${folder} was taken over; stopping at once`));
  }
  const configuration = new TableConfiguration(
    '127.0.0.1',
    port,
    KEEP_ALIVE_SECONDS,
    folder ? path.join(folder, DATABASE_FILE) : DATABASE_FILE,
    false, // debug log
    false, // access log
    undefined, // access log stream
    undefined, // debug log file
    false, // loose
    true, // skip API version check: the SDK may be newer than Azurite
    '', // cert
    '', // key
    '', // pfx password
    undefined, // OAuth
    false, // product-style URLs
    !folder, // in memory
  );
  const tableServer = new TableServer(configuration);
  if (folder) {
    const database = tableServer.metadataStore.db;
    database.persistenceAdapter = syncedFileAdapter(database.persistenceAdapter);
    acknowledgeWritesWhenSaved(tableServer.httpServer, () => saveIfChanged(database));
  }
  await tableServer.start();
  server = tableServer;
  return port;
}

function stop(): void {
  stopping ??= (async () => {
    setTimeout(() => fail('Azurite did not close in time'), SHUTDOWN_DEADLINE_MS).unref();
    await started.catch(() => undefined);
    if (server) await closeServer(server);
    await lock?.release();
    process.exit(0);
  })();
}

async function closeServer(tableServer: TableServer): Promise<void> {
  const connectionsClosed = once(tableServer.httpServer, 'close');
  // Stops listening and saves; requests already in flight still finish, each saved before its answer.
  await tableServer.close();
  await connectionsClosed;
  await saveIfChanged(tableServer.metadataStore.db);
}

/** Leaves at once, keeping the lock file: the next start sees its pid dead and takes the folder over. */
function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function acknowledgeWritesWhenSaved(httpServer: Server, save: () => Promise<void>): void {
  const [handle] = httpServer.listeners('request') as RequestListener[];
  httpServer.removeAllListeners('request');
  httpServer.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (!READ_ONLY_METHODS.has(request.method ?? 'GET')) holdAnswerUntilSaved(response, save);
    handle(request, response);
  });
}

/**
 * Holds the whole answer (Azurite writes the body before it ends the response, and a client
 * with the whole body has its acknowledgement) until a save that includes the write is done.
 */
function holdAnswerUntilSaved(response: ServerResponse, save: () => Promise<void>): void {
  const write = response.write.bind(response) as (...args: unknown[]) => boolean;
  const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
  const held: unknown[][] = [];
  response.write = ((...args: unknown[]) => held.push(args) > 0) as ServerResponse['write'];
  response.end = ((...args: unknown[]) => {
    save().then(
      () => {
        for (const chunk of held) write(...chunk);
        end(...args);
      },
      (error: Error) => {
        // Never acknowledge what is not on disk: the client sees a broken connection, not a success.
        process.stderr.write(`Azurite could not save: ${error.message}\n`);
        response.destroy(error);
      },
    );
    return response;
  }) as ServerResponse['end'];
}

/** Resolves once everything changed so far is on disk; concurrent callers share LokiJS's next save. */
function saveIfChanged(database: LokiDatabase): Promise<void> {
  // A save under way may have serialised the tables before this change: wait for the one after it.
  if (!database.autosaveDirty() && !database.throttledSavePending) return Promise.resolve();
  return new Promise((resolve, reject) => database.saveDatabase((error) => (error ? reject(error) : resolve())));
}

/**
 * LokiJS's file adapter writes a temporary file and renames it over the database, which a killed
 * process cannot leave half-written; it does not fsync, so after a power cut the OS may not have
 * written it. This one syncs the file and the folder before reporting the save.
 */
function syncedFileAdapter(files: LokiPersistenceAdapter): LokiPersistenceAdapter {
  return {
    loadDatabase: (file, done) => files.loadDatabase(file, done),
    saveDatabase: (file, text, done) => writeSynced(file, text).then(() => done(), done),
  };
}

async function writeSynced(file: string, text: string): Promise<void> {
  const temporary = `${file}~`;
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
  const directory = await open(path.dirname(file), 'r').catch(() => undefined);
  // Windows cannot sync a folder; a rename there is as durable as it gets.
  await directory?.sync().catch(() => undefined);
  await directory?.close();
}
