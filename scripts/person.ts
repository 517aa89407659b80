import { userInfo } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../bot/app/config';
import { createLogger } from '../bot/app/log';
import { mailFolder } from '../bot/notifications/mailer';
import { PersonData } from '../bot/privacy/personData';
import { startAzurite, RunningAzurite } from '../storage/azurite';
import { PersonDataRepository } from '../storage/personDataRepository';
import { referralStorage } from '../storage/referralStorage';
import { TableConnection } from '../storage/tables';
import { TableStateStore } from '../storage/tableStateStore';
import { TimerRepository } from '../storage/timerRepository';

/**
 * The person's rights, for Signpost's admins (whoever can reach its storage):
 *
 *   npm run --silent person -- export <reference>
 *     writes everything held about the person of the referral as JSON on stdout;
 *   npm run --silent person -- erase <reference> --reason "..." [--force] [--by "name"]
 *     removes the person's identifiers everywhere Signpost holds them, keeping the audit fact.
 *
 * Works on SIGNPOST_STORAGE_CONNECTION_STRING, or on the embedded default's data folder
 * (SIGNPOST_DATA_DIR, ./data) while Signpost is stopped. Logs (stderr) carry the reference and
 * counts, never the person's details. Exit 0 done, 2 refused or bad arguments, 1 failed.
 */

const USAGE = 'usage: npm run --silent person -- export <reference>\n       npm run --silent person -- erase <reference> --reason "..." [--force] [--by "name"]\n';
const REFERENCE = /^SP-\d{4}-\d{6}$/;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { reason: { type: 'string' }, force: { type: 'boolean' }, by: { type: 'string' } } });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const [command, rawReference] = parsed.positionals;
  const reference = rawReference?.trim().toUpperCase();
  if (!['export', 'erase'].includes(command ?? '') || !reference || parsed.positionals.length !== 2) {
    process.stderr.write(USAGE);
    return 2;
  }
  if (!REFERENCE.test(reference)) {
    process.stderr.write(`${rawReference} is not a Signpost reference (SP-2026-000123).\n`);
    return 2;
  }
  if (command === 'erase' && parsed.values.reason === undefined) {
    process.stderr.write(`Say why the data is being erased with --reason "...": the reason is kept in the audit trail.\n${USAGE}`);
    return 2;
  }

  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel, (line) => process.stderr.write(`${line}\n`));
  let azurite: RunningAzurite | undefined;
  let connectionString = config.storageConnectionString;
  if (!connectionString) {
    const location = path.join(config.dataDir, 'azurite');
    try {
      azurite = await startAzurite({ location });
    } catch (error) {
      process.stderr.write(
        `Could not open the embedded store in ${location}. If Signpost is running on it, stop Signpost first: the embedded store has one user at a time.\n(${(error as Error).message})\n`,
      );
      return 1;
    }
    connectionString = azurite.connectionString;
  }
  try {
    const tables = new TableConnection(connectionString, { timeoutMs: 30_000 });
    const { referrals } = referralStorage(tables);
    const personData = new PersonData({
      referrals,
      personData: new PersonDataRepository(tables),
      stateStore: new TableStateStore(tables),
      timers: new TimerRepository(tables),
      mailFolder: config.mail.smtpUrl ? undefined : mailFolder(config.dataDir),
      retentionMonths: config.retentionMonths,
      logger,
      now: () => new Date(),
    });
    const operatorName = parsed.values.by?.trim() || userInfo().username;
    const by = { id: `cli:${operatorName}`.slice(0, 200), name: operatorName.slice(0, 100) };

    if (command === 'export') {
      const exported = await personData.export(reference, by);
      if (!exported) {
        process.stderr.write(`No referral ${reference} in this store.\n`);
        return 2;
      }
      process.stdout.write(`${JSON.stringify(exported, null, 2)}\n`);
      return 0;
    }

    const outcome = await personData.erase(reference, { reason: parsed.values.reason ?? '', by, force: parsed.values.force });
    switch (outcome.kind) {
      case 'not-found':
        process.stderr.write(`No referral ${reference} in this store.\n`);
        return 2;
      case 'refused':
        process.stderr.write(`Nothing was erased. ${outcome.why}\n`);
        return 2;
      default: {
        const { removed } = outcome;
        process.stdout.write(
          [
            `Erased the person's details from ${reference}${outcome.wasOpen ? ' (it was still open)' : ''}:`,
            `- the record: ${removed.recordParts.length ? removed.recordParts.join('; ') : 'already held none'}`,
            `- notifications emptied: ${removed.notifications}`,
            `- email copies deleted: ${removed.emailCopies}${config.mail.smtpUrl ? ' (mail goes by SMTP: sent emails are in the recipients\' mailboxes)' : ''}`,
            `- conversations with a referral in progress cleared: ${removed.conversationStates}`,
            `- audit notes emptied: ${removed.auditNotes}`,
            'The audit trail keeps the fact of the erasure: who, when and why.',
            '',
          ].join('\n'),
        );
        return 0;
      }
    }
  } finally {
    await azurite?.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error) => {
    process.stderr.write(`person: ${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
