import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { ParsedMail, simpleParser } from 'mailparser';

/**
 * A real SMTP server on loopback that parses every message it accepts. `refuse` makes it
 * answer like a server that is down for a while (a temporary 4xx), to test retries;
 * `rejectRecipients` makes it refuse mail for those addresses for good (550 No such user).
 */
export class TestSmtpServer {
  readonly messages: ParsedMail[] = [];
  refuse = 0;
  readonly rejectRecipients = new Set<string>();
  /** Every recipient the server was asked to take, refused or not. */
  readonly attempted: string[] = [];
  private waiters: Array<() => void> = [];

  private constructor(private readonly server: SMTPServer, readonly port: number) {}

  static async start(): Promise<TestSmtpServer> {
    let instance!: TestSmtpServer;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo(address, _session, callback) {
        instance.attempted.push(address.address);
        if (instance.rejectRecipients.has(address.address)) return callback(Object.assign(new Error('No such user'), { responseCode: 550 }));
        callback();
      },
      onData(stream, _session, callback) {
        if (instance.refuse > 0) {
          instance.refuse -= 1;
          stream.resume();
          const error = Object.assign(new Error('Service temporarily unavailable'), { responseCode: 421 });
          stream.on('end', () => callback(error));
          return;
        }
        simpleParser(stream)
          .then((mail) => {
            instance.messages.push(mail);
            instance.waiters.splice(0).forEach((wake) => wake());
            callback();
          })
          .catch(callback);
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    instance = new TestSmtpServer(server, (server.server.address() as AddressInfo).port);
    return instance;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** Resolves when at least `count` messages have arrived. */
  async waitForMessages(count: number, timeoutMs = 15_000): Promise<ParsedMail[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} emails, got ${this.messages.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.messages;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
