import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import nodemailer, { Transporter } from 'nodemailer';
import { DeliveryError } from './messenger';

/**
 * Outgoing mail through nodemailer: SMTP when SIGNPOST_SMTP_URL is set; otherwise (the embedded
 * default) each message is written as an .eml file under the data folder, so nothing is lost
 * and a developer can open what would have been sent.
 */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Stable per notification and channel: mail systems can drop a repeat with the same id. */
  messageId: string;
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<void>;
  readonly description: string;
  close(): void;
}

/** Where the embedded default writes mail instead of sending it. */
export function mailFolder(dataDir: string): string {
  return path.join(dataDir, 'mail');
}

/** The .eml file a message is written to: named by its Message-ID, so a repeat overwrites it. */
export function mailFileName(messageId: string): string {
  return `${messageId.replace(/[^A-Za-z0-9._-]/g, '_')}.eml`;
}

export function createMailer(settings: { smtpUrl: string; from: string; dataDir: string }): Mailer {
  if (settings.smtpUrl) {
    const transport: Transporter = nodemailer.createTransport(settings.smtpUrl);
    return {
      description: `SMTP ${new URL(settings.smtpUrl).host}`,
      send: async (mail) => {
        try {
          await transport.sendMail({ from: settings.from, ...mail, messageId: `<${mail.messageId}@signpost>` });
        } catch (error) {
          throw DeliveryError.fromSmtp(error);
        }
      },
      close: () => transport.close(),
    };
  }
  const folder = mailFolder(settings.dataDir);
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    description: `files in ${folder}`,
    send: async (mail) => {
      const info = await transport.sendMail({ from: settings.from, ...mail, messageId: `<${mail.messageId}@signpost>` });
      mkdirSync(folder, { recursive: true });
      writeFileSync(path.join(folder, mailFileName(mail.messageId)), info.message as Buffer);
    },
    close: () => transport.close(),
  };
}
