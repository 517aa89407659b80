import { startSignpost } from '../bot/app/server';
import { createLogger } from '../bot/app/log';
import { Playground } from './playground';

/**
 * `npm run dev`: Signpost on the embedded default plus the Microsoft 365 Agents Playground (a
 * local Teams emulator with a personal chat, a group chat and a team) pointed at it.
 * Open the printed URL in a browser. Ctrl+C stops both.
 */
async function main(): Promise<void> {
  const logger = createLogger('info');
  const bot = await startSignpost({ logger, host: '127.0.0.1' });
  const playground = await Playground.start({
    botEndpoint: `${bot.url}/api/messages`,
    port: Number(process.env.PLAYGROUND_PORT ?? 56150),
  });
  process.stdout.write(
    `\nSignpost is running. Open the Agents Playground: ${playground.url}\n` +
      'You are Amira Patel, a practice receptionist: say "help" or "refer" in the personal chat.\n' +
      'Directory upkeep: in SAIL link workers - Referrals, post "@Signpost link sail" (in local mode that makes you a maintainer\n' +
      'of its entry), then "@Signpost verify": the request to confirm the entry arrives in your personal chat (README: "Try directory upkeep").\n' +
      `The Signpost tab (caseloads, dashboards, the borough report) is at ${bot.url}/tab: choose a playground person there.\n` +
      'The playground logs to devTools/. Press Ctrl+C to stop.\n\n',
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await playground.stop();
    await bot.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((error) => {
  process.stderr.write(`npm run dev failed: ${(error as Error).message}\n`);
  process.exit(1);
});
