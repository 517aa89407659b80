import { expect } from 'chai';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAzurite, RunningAzurite } from '../../storage/azurite';
import { isProcessAlive, readDataFolderHolder } from '../../storage/dataFolderLock';
import { TableConnection } from '../../storage/tables';

const WRITER_SCRIPT = path.join(__dirname, '../support/azuriteWriter.js');
const TABLE = 'crashes';
/** Enough writes to be mid-way through a stream of them, few enough to stay fast. */
const WRITES_BEFORE_KILL = 25;

describe('Embedded Azurite across crashes (real processes, SIGKILL)', () => {
  let folder: string;

  beforeEach(() => {
    folder = mkdtempSync(path.join(tmpdir(), 'signpost-crash-'));
  });
  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  it('keeps every acknowledged write when the bot is killed: its Azurite saves and exits, and a restart takes the folder', async () => {
    const writer = startWriter(folder);
    await writer.acknowledged(WRITES_BEFORE_KILL);
    const orphan = readDataFolderHolder(folder)!;

    writer.process.kill('SIGKILL');
    const acknowledged = await writer.finished;
    expect(acknowledged).to.have.length.of.at.least(WRITES_BEFORE_KILL);

    const azurite = await startAzurite({ location: folder });
    try {
      // It released the folder after its last save, and exits right after.
      expect(await exitedWithin(orphan.pid, 5_000), 'the orphaned Azurite is gone').to.equal(true);
      expect(readDataFolderHolder(folder)?.port).to.equal(azurite.port);
      expect(azuriteHostsOn(folder)).to.have.length(1);
      expect(await storedKeys(azurite)).to.include.members(acknowledged);
    } finally {
      await azurite.stop();
    }
    expect(readDataFolderHolder(folder), 'a clean stop releases the lock').to.equal(undefined);
  });

  it('keeps every acknowledged write when the bot and its Azurite are killed together (power cut)', async () => {
    const writer = startWriter(folder);
    await writer.acknowledged(WRITES_BEFORE_KILL);
    const host = readDataFolderHolder(folder)!;

    // Azurite first, so that nothing gets to close cleanly; the lock is left behind.
    process.kill(host.pid, 'SIGKILL');
    writer.process.kill('SIGKILL');
    const acknowledged = await writer.finished;
    expect(acknowledged).to.have.length.of.at.least(WRITES_BEFORE_KILL);
    expect(readDataFolderHolder(folder)?.pid).to.equal(host.pid);

    const azurite = await startAzurite({ location: folder });
    try {
      expect(readDataFolderHolder(folder)?.port, 'the stale lock was taken over').to.equal(azurite.port);
      expect(azuriteHostsOn(folder)).to.have.length(1);
      expect(await storedKeys(azurite)).to.include.members(acknowledged);
    } finally {
      await azurite.stop();
    }
  });

  it('never runs two Azurites on one folder when two start at once @safety', async () => {
    const results = await Promise.allSettled([startAzurite({ location: folder }), startAzurite({ location: folder })]);
    const running = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const refused = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as Error] : []));
    try {
      expect(running).to.have.length(1);
      expect(refused).to.have.length(1);
      expect(refused[0].message).to.contain('in use by another Azurite');
      expect(azuriteHostsOn(folder)).to.have.length(1);
    } finally {
      await Promise.all(running.map((azurite) => azurite.stop()));
    }
    const again = await startAzurite({ location: folder });
    await again.stop();
  });
});

interface Writer {
  process: ChildProcess;
  /** Resolves once at least `count` writes are acknowledged. */
  acknowledged(count: number): Promise<void>;
  /** Every key the writer printed, once it has exited. */
  finished: Promise<string[]>;
}

function startWriter(location: string): Writer {
  const child = spawn(process.execPath, [WRITER_SCRIPT, location, TABLE], { stdio: ['ignore', 'pipe', 'pipe'] });
  const keys: string[] = [];
  let partial = '';
  let errors = '';
  const waiting: { count: number; resolve: () => void }[] = [];
  child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    keys.push(...lines);
    for (const wait of waiting.filter((candidate) => keys.length >= candidate.count)) wait.resolve();
  });
  const finished = once(child, 'close').then(() => keys);
  return {
    process: child,
    acknowledged: (count) =>
      new Promise((resolve, reject) => {
        waiting.push({ count, resolve });
        finished.then(() => reject(new Error(`the writer stopped after ${keys.length} writes: ${errors}`)));
      }),
    finished,
  };
}

async function storedKeys(azurite: RunningAzurite): Promise<string[]> {
  const keys: string[] = [];
  for await (const entity of new TableConnection(azurite.connectionString).client(TABLE).listEntities()) {
    keys.push(entity.rowKey!);
  }
  return keys;
}

/** The command lines of running Azurite hosts on the folder (from /proc where there is one, as on CI, else ps). */
function azuriteHostsOn(location: string): string[] {
  const commandLines = existsSync('/proc/self/cmdline')
    ? readdirSync('/proc')
        .filter((entry) => /^\d+$/.test(entry))
        .map((pid) => readCommandLine(pid))
    : execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).split('\n');
  return commandLines.filter((line) => line.includes('azuriteHost.js') && line.trimEnd().endsWith(` ${location}`));
}

function readCommandLine(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return ''; // exited meanwhile
  }
}

async function exitedWithin(pid: number, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(20)) {
    if (!isProcessAlive(pid)) return true;
  }
  return false;
}
