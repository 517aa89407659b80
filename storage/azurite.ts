import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';

/**
 * The embedded default: Azurite's table service in a child process on a free loopback port,
 * run by our host script (azuriteHost.ts) rather than Azurite's CLI. A child process (not
 * in-process) because Azurite's package entry pulls in the VS Code extension, and because a
 * crash of either side must not take the other's half-done work with it.
 *
 * With a folder, storage survives crashes: the host acknowledges a write only once it is on
 * disk, exits (saving) when the bot dies, and holds a lock so that no two Azurites share a folder.
 */

const HOST_SCRIPT = path.join(__dirname, 'azuriteHost.js');
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
  const args = [HOST_SCRIPT, String(port), ...(options.location ? [options.location] : [])];
  // Its own process group, so a Ctrl+C in the terminal reaches only the bot, which then
  // finishes in-flight turns before stopping storage. The IPC channel is its lifeline: the
  // kernel closes it when the bot exits or is killed, and the host then closes Azurite, saving.
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], detached: true });
  await waitForReady(child, options.startTimeoutMs ?? 30_000);
  return {
    port,
    pid: child.pid!,
    connectionString: azuriteConnectionString(port),
    stop: () => stopChild(child),
  };
}

function waitForReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`Azurite did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    const onOutput = (chunk: Buffer) => (output += chunk.toString());
    const onMessage = (message: { type?: string }) => {
      if (message?.type !== 'ready') return;
      cleanup();
      // From now on the host writes only when something is wrong: pass that on.
      child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
      resolve();
    };
    // 'close' rather than 'exit': by then all of its stderr has been read.
    const onClose = (code: number | null) =>
      fail(new Error(`Azurite did not start (exit code ${code}): ${output.trim().slice(-500)}`));
    function cleanup() {
      clearTimeout(timer);
      child.stderr?.off('data', onOutput);
      child.off('message', onMessage);
      child.off('close', onClose);
    }
    function fail(error: Error) {
      cleanup();
      reject(error);
    }
    child.stderr?.on('data', onOutput);
    child.on('message', onMessage);
    child.once('close', onClose);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    // Every acknowledged write is on disk, so a host that hangs while closing can be killed.
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
