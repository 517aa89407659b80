import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

/**
 * The embedded default: Azurite's table service as a child process on a free loopback port.
 * A child process (not in-process) because Azurite's package entry pulls in the VS Code
 * extension, and because killing a process is the surest way to leave nothing behind.
 */

/** Azurite's fixed, publicly documented development account. Not a secret. */
const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteOptions {
  /** Folder for Azurite's files; omit for in-memory (tests that need no persistence). */
  location?: string;
  /** Port to listen on; a free one is chosen when omitted. */
  port?: number;
  /** How long to wait for Azurite to report that it is listening. */
  startTimeoutMs?: number;
}

export interface RunningAzurite {
  port: number;
  /** Azurite's process, for tests that freeze it (SIGSTOP) to see how Signpost copes. */
  pid: number;
  connectionString: string;
  stop(): Promise<void>;
}

export function azuriteConnectionString(port: number): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};` +
    `TableEndpoint=http://127.0.0.1:${port}/${DEV_ACCOUNT};`
  );
}

export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
  const port = options.port ?? (await freeLoopbackPort());
  const entry = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist/src/table/main.js');
  const args = [
    entry,
    '--tableHost', '127.0.0.1',
    '--tablePort', String(port),
    '--skipApiVersionCheck',
    '--disableTelemetry',
    '--silent',
  ];
  if (options.location) {
    mkdirSync(options.location, { recursive: true });
    args.push('--location', options.location);
  } else {
    args.push('--inMemoryPersistence');
  }

  // Its own process group, so a Ctrl+C in the terminal reaches only the bot, which then
  // finishes in-flight turns before stopping storage. If the bot exits without stopping it,
  // the exit hook still takes Azurite down.
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  try {
    await waitForStart(child, options.startTimeoutMs ?? 30_000);
  } catch (error) {
    process.off('exit', killOnExit);
    throw error;
  }
  return {
    port,
    pid: child.pid!,
    connectionString: azuriteConnectionString(port),
    stop: async () => {
      await stopChild(child);
      process.off('exit', killOnExit);
    },
  };
}

function waitForStart(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`Azurite did not start within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('successfully started')) {
        cleanup();
        // Keep draining so a full pipe never blocks Azurite.
        child.stdout?.resume();
        child.stderr?.resume();
        resolve();
      }
    };
    const onExit = (code: number | null) =>
      fail(new Error(`Azurite exited before it started (code ${code}): ${output.trim().slice(-500)}`));
    function cleanup() {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    }
    function fail(error: Error) {
      cleanup();
      child.kill('SIGKILL');
      reject(error);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    // Azurite saves its database and closes only on SIGINT; SIGTERM would lose recent writes.
    child.kill('SIGINT');
  });
}
