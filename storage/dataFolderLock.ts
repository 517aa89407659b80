import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * One Azurite per data folder. Two servers on one folder each save their own copy of the
 * database over the other's, so whatever one acknowledged and the other never saw is lost.
 *
 * The holder is the process that runs Azurite (not the bot), because that is the process that
 * writes the folder: it keeps the lock until its last save is on disk. The lock file names its
 * pid and port and a token; the holder touches it every second and checks it is still its own.
 *
 * A lock counts as stale when its pid is dead, or when it has not been touched for a while
 * (its pid now belongs to some other process, as after a container restart). A live holder that
 * answers on its port is serving a running bot: the new start is refused. One that does not
 * answer is starting, or closing because its bot died, and is waited for.
 *
 * A previous bot's Azurite is never reused: it is already closing when the new bot starts (it
 * closes, saving, as soon as its bot dies), and reusing it would leave the new bot's storage in a
 * process it did not start and cannot stop. Nor is it signalled: the pid in a lock may by then be
 * someone else's. The new start waits for its last save and its exit, then opens the folder.
 */

const LOCK_FILE = 'azurite.lock';
/** Held, for a moment, by whoever removes a lock file, so that it removes the one it checked. */
const REMOVAL_MARKER = 'azurite.lock.removing';
const HEARTBEAT_MS = 1_000;
/** A lock or marker untouched this long has no live owner. Generous: a holder's loop may block loading a large file. */
const STALE_AFTER_MS = 10_000;
/** How long a holder may go on answering before it counts as serving someone (an orphan stops answering at once). */
const SERVING_GRACE_MS = 1_000;
const POLL_MS = 50;

export interface DataFolderHolder {
  pid: number;
  port: number;
  token: string;
  since: string;
}

export interface DataFolderLock {
  release(): Promise<void>;
}

class DataFolderInUseError extends Error {
  constructor(folder: string, holder: DataFolderHolder) {
    super(
      `${folder} is in use by another Azurite (pid ${holder.pid}, port ${holder.port}, since ${holder.since}); ` +
        'is another Signpost running on the same data folder?',
    );
    this.name = 'DataFolderInUseError';
  }
}

/** Who holds the folder's lock, if anyone does (whether alive or not). */
export function readDataFolderHolder(folder: string): DataFolderHolder | undefined {
  const found = readStamped(path.join(folder, LOCK_FILE));
  return found && parseHolder(found.text);
}

/**
 * Takes the folder for this process, waiting for a holder that is closing and taking over a
 * stale lock. Throws DataFolderInUseError if another live Azurite serves the folder.
 * onLost is called if the lock is ever found taken from us: the caller must stop writing at once.
 */
export async function lockDataFolder(folder: string, port: number, onLost: () => void): Promise<DataFolderLock> {
  const file = path.join(folder, LOCK_FILE);
  const mine = JSON.stringify({
    pid: process.pid,
    port,
    token: randomUUID(),
    since: new Date().toISOString(),
  } satisfies DataFolderHolder);
  let servingSince: number | undefined;
  while (!createExclusive(file, mine)) {
    const found = readStamped(file);
    if (!found) continue;
    const state = await holderState(found);
    if (state === 'serving') {
      servingSince ??= Date.now();
      if (Date.now() - servingSince > SERVING_GRACE_MS) throw new DataFolderInUseError(folder, parseHolder(found.text)!);
    } else {
      servingSince = undefined;
    }
    if (state === 'stale' && removeIfUnchanged(folder, file, found.text)) continue;
    await sleep(POLL_MS);
  }

  const heartbeat = setInterval(() => {
    try {
      if (readFileSync(file, 'utf8') !== mine) throw new Error('lock taken');
      const now = new Date();
      utimesSync(file, now, now);
    } catch {
      clearInterval(heartbeat);
      onLost();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  return {
    release: async () => {
      clearInterval(heartbeat);
      while (!removeIfUnchanged(folder, file, mine)) await sleep(POLL_MS / 5);
    },
  };
}

function createExclusive(file: string, text: string): boolean {
  try {
    writeFileSync(file, text, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** A file's text and when it was last written or touched. */
function readStamped(file: string): { text: string; touchedMs: number } | undefined {
  try {
    const touchedMs = statSync(file).mtimeMs;
    return { text: readFileSync(file, 'utf8'), touchedMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function parseHolder(text: string): DataFolderHolder | undefined {
  try {
    const holder = JSON.parse(text) as DataFolderHolder;
    return Number.isInteger(holder.pid) && Number.isInteger(holder.port) ? holder : undefined;
  } catch {
    return undefined;
  }
}

async function holderState(found: { text: string; touchedMs: number }): Promise<'stale' | 'serving' | 'busy'> {
  const untouchedFor = Date.now() - found.touchedMs;
  const holder = parseHolder(found.text);
  // An unreadable lock is being written this instant, or was cut short by a crash.
  if (!holder) return untouchedFor > STALE_AFTER_MS ? 'stale' : 'busy';
  // Our own or our parent's pid in the lock can only be an old holder's, reused.
  if (holder.pid === process.pid || holder.pid === process.ppid || !isProcessAlive(holder.pid)) return 'stale';
  if (untouchedFor > STALE_AFTER_MS) return 'stale';
  return (await answers(holder.port)) ? 'serving' : 'busy';
}

/** Whether a process runs. A zombie does not: a killed holder whose parent died too stays one where nothing reaps orphans (a container without an init). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive, but someone else's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS, Windows): kill(0) is all there is
  }
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 500 });
    const settle = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.once('connect', () => settle(true));
    socket.once('error', () => settle(false));
    socket.once('timeout', () => settle(false));
  });
}

/**
 * Removes the lock file if it still holds `text`. Every removal goes through the marker, so the
 * check and the removal cannot straddle someone else's removal and new lock. Returns false when
 * someone else holds the marker (try again shortly).
 */
function removeIfUnchanged(folder: string, file: string, text: string): boolean {
  const marker = path.join(folder, REMOVAL_MARKER);
  if (!createExclusive(marker, String(process.pid))) {
    // A marker is held for microseconds; an old one was left by a process that died holding it.
    const old = readStamped(marker);
    if (old && Date.now() - old.touchedMs > STALE_AFTER_MS) rmSync(marker, { force: true });
    return false;
  }
  try {
    if (readStamped(file)?.text === text) rmSync(file);
    return true;
  } finally {
    rmSync(marker, { force: true });
  }
}
