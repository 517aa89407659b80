import { ConfigError } from './config';
import { createLogger, describeError } from './log';
import { startSignpost } from './server';

/** `npm start`: runs Signpost until SIGINT/SIGTERM, then finishes in-flight turns and stops storage. */
async function main(): Promise<void> {
  const logger = createLogger(process.env.SIGNPOST_LOG_LEVEL === 'debug' ? 'debug' : 'info');
  let running;
  try {
    running = await startSignpost({ logger });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Signpost cannot start: ${error.message}\n`);
      process.exit(1);
    }
    logger.error('start-failed', describeError(error));
    process.exit(1);
  }
  const shutdown = (signal: string) => {
    logger.info('signal', { signal });
    running
      .stop()
      .then(() => process.exit(0))
      .catch((error) => {
        logger.error('stop-failed', describeError(error));
        process.exit(1);
      });
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

void main();
