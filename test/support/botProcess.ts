import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { freeLoopbackPort } from '../../storage/azurite';
import { FakeConnector, postActivity, teamsActivity } from './connector';
import { clickAnswerAsMessage, fill, formClick, FormClickAnswer, inputValue, VALID } from './referralHarness';

/**
 * Signpost as its own process (`npm start` without the build), so tests can kill it for real,
 * and a referrer who talks to it over HTTP the way Teams does, with the replies arriving at the
 * connector stand-in.
 */
export class BotProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly output: string[],
  ) {}

  static async start(dataDir: string, env: Record<string, string> = {}): Promise<BotProcess> {
    const port = await freeLoopbackPort();
    const entry = path.resolve(__dirname, '../../bot/app/index.js');
    const child = spawn(process.execPath, [entry], {
      env: { PATH: process.env.PATH, PORT: String(port), SIGNPOST_DATA_DIR: dataDir, SIGNPOST_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    child.stdout?.on('data', (chunk) => output.push(String(chunk)));
    child.stderr?.on('data', (chunk) => output.push(String(chunk)));
    const bot = new BotProcess(child, `http://127.0.0.1:${port}`, output);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`Signpost exited on start: ${output.join('')}`);
      try {
        if ((await fetch(`${bot.url}/api/health`)).ok) return bot;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`Signpost did not start: ${output.join('')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** kill -9: no shutdown handler runs. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}

/** Processes whose command line names the folder (an embedded store serving it), as "pid args". */
export function processesUsing(folder: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(folder))
    .map((line) => line.trim());
}

/** A referrer in their 1:1 chat with Signpost, driven over HTTP; each turn's replies are read from the connector. */
export class Referrer {
  private readonly conversationId: string;

  constructor(
    private readonly botUrl: () => string,
    private readonly connector: FakeConnector,
    readonly id: string,
    readonly name: string,
  ) {
    this.conversationId = `a:chat-${id}`;
  }

  /**
   * One turn: text, or a press of a form card's button with these inputs. Returns the cards
   * Signpost answered with: those it posted (all arrived when the POST returns), then the card
   * that replaced the pressed one.
   */
  async say(input: string | Record<string, unknown>): Promise<Array<Record<string, any>>> {
    const before = this.replies().length;
    const activity = teamsActivity(this.connector, {
      from: { id: this.id, name: this.name },
      conversation: { id: this.conversationId, conversationType: 'personal' },
      ...(typeof input === 'string' ? { text: input } : formClick(input)),
    });
    const { status, body } = await postActivity(this.botUrl(), activity);
    if (status !== 200) throw new Error(`turn answered ${status}`);
    const posted = this.replies().slice(before).map((reply) => reply.activity);
    const answer = typeof input === 'string' || !body ? [] : [clickAnswerAsMessage(JSON.parse(body) as FormClickAnswer)];
    return [...posted, ...answer].flatMap((reply) => (reply.attachments ?? []).map((attachment: { content: Record<string, any> }) => attachment.content));
  }

  /** A chat command; returns the text Signpost answered with. */
  async ask(text: string): Promise<string> {
    const before = this.replies().length;
    await this.say(text);
    return this.replies()
      .slice(before)
      .map((reply) => String(reply.activity.text ?? ''))
      .join('\n');
  }

  /** A whole referral, step by step; returns the reference Signpost gave, or throws where it stopped. */
  async refer(): Promise<string> {
    let card = last(await this.say('refer'));
    for (const step of ['referrer', 'consent', 'safety', 'person', 'needs', 'matches', 'summary'] as const) {
      const inputs = step === 'matches' ? { serviceId: inputValue(card, 'serviceId') } : step === 'summary' ? {} : VALID[step];
      card = last(await this.say(fill(card, inputs as Record<string, unknown>)));
    }
    const reference = /SP-\d{4}-\d{6}/.exec(JSON.stringify(card))?.[0];
    if (!reference) throw new Error('the last card has no reference');
    return reference;
  }

  private replies() {
    return this.connector.received.filter((received) => received.conversationId === this.conversationId && received.method === 'POST');
  }
}

function last(cards: Array<Record<string, any>>): Record<string, any> {
  const card = cards[cards.length - 1];
  if (!card) throw new Error('Signpost answered without a card');
  return card;
}
