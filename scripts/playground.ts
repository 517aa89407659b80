import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { freeLoopbackPort } from '../storage/azurite';

/**
 * The Microsoft 365 Agents Playground (a local Teams emulator) as a child process, pointed at
 * a Signpost bot: `npm run dev` and the end-to-end tests use it. Start-up waits for the
 * playground to say it is listening, not for a fixed time.
 */

const REPO_ROOT = path.resolve(__dirname, '..', '..');

export interface PlaygroundOptions {
  botEndpoint: string;
  port?: number;
  configPath?: string;
  /** Where the playground writes its log (devTools/ by default; tests use a temp folder). */
  logDir?: string;
  /** Print the playground's own output (npm run dev). */
  inheritOutput?: boolean;
}

export class Playground {
  private constructor(private readonly child: ChildProcess, readonly url: string, private readonly cleanup: () => void) {}

  static async start(options: PlaygroundOptions): Promise<Playground> {
    const port = options.port ?? (await freeLoopbackPort());
    const logDir = options.logDir ?? path.join(REPO_ROOT, 'devTools');
    const cli = path.join(path.dirname(require.resolve('@microsoft/m365agentsplayground/package.json')), 'cli.js');
    const child = spawn(
      process.execPath,
      [cli, '--app-endpoint', options.botEndpoint, '--channel-id', 'msteams', '--port', String(port), '--disable-telemetry'],
      {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          // Without this the playground tries to open a browser and exits when it cannot.
          TEAMSAPPTESTER_BROWSER: 'none',
          M365_AGENTS_PLAYGROUND_CONFIG_PATH: options.configPath ?? path.join(REPO_ROOT, '.m365agentsplayground.yml'),
          TEAMSAPPTESTER_LOGFILE: path.join(logDir, 'm365agentsplayground.log'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    const killOnExit = () => killGroup(child, 'SIGKILL');
    process.once('exit', killOnExit);
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => fail(new Error(`the Agents Playground did not start within 60 s:\n${output}`)), 60_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (options.inheritOutput) process.stdout.write(chunk);
        if (new RegExp(`Listening on ${port}`).test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      const fail = (error: Error) => {
        clearTimeout(timer);
        killGroup(child, 'SIGKILL');
        reject(error);
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => fail(new Error(`the Agents Playground exited (code ${code}):\n${output}`)));
    });
    child.removeAllListeners('exit');
    child.stdout!.resume();
    child.stderr!.resume();
    return new Playground(child, `http://localhost:${port}`, () => process.off('exit', killOnExit));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      killGroup(this.child, 'SIGTERM');
      const force = setTimeout(() => killGroup(this.child, 'SIGKILL'), 5_000);
      await exited;
      clearTimeout(force);
    }
    this.cleanup();
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

