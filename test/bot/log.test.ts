import { expect } from 'chai';
import { createLogger, LogFields, LogLevel, withLogFields } from '../../bot/app/log';

function capture(minimum: LogLevel = 'debug') {
  const lines: Array<{ level: LogLevel; entry: Record<string, unknown> }> = [];
  const logger = createLogger(minimum, (line, level) => lines.push({ level, entry: JSON.parse(line) }));
  return { logger, lines };
}

describe('Logging (pino)', () => {
  it('writes one JSON line per event with time, level and event name, and honours the level', () => {
    const { logger, lines } = capture('info');
    logger.debug('not-shown');
    logger.info('referral-action', { verb: 'accept', reference: 'SP-2026-000001' });
    logger.error('turn-error', { errorName: 'Error' });
    expect(lines.map((line) => line.level)).to.deep.equal(['info', 'error']);
    expect(lines[0].entry).to.include({ level: 'info', event: 'referral-action', verb: 'accept', reference: 'SP-2026-000001' });
    expect(Date.parse(String(lines[0].entry.time))).to.be.greaterThan(0);
  });

  it('redacts fields that would carry a person, should one ever be passed @safety', () => {
    const { logger, lines } = capture();
    const careless = { nhsNumber: '9434765919', name: 'Jane Example', postcode: 'SE5 8AU', email: 'jane@example.org', count: 2 } as LogFields;
    logger.warn('careless', careless);
    const line = JSON.stringify(lines[0].entry);
    expect(line).not.to.contain('9434765919').and.not.contain('Jane').and.not.contain('SE5').and.not.contain('jane@');
    expect(lines[0].entry).to.include({ count: 2, nhsNumber: '[redacted]' });
  });

  it('puts the turn\'s activity id on every line logged while the turn runs, in any layer, and only then', async () => {
    const { logger, lines } = capture();
    const elsewhere = logger.child({ component: 'dispatcher' });
    await withLogFields({ activityId: 'activity-1' }, async () => {
      logger.info('in-turn');
      await new Promise((resolve) => setTimeout(resolve, 1));
      elsewhere.info('later-in-turn');
    });
    logger.info('after-turn');
    expect(lines.map((line) => [line.entry.event, line.entry.activityId])).to.deep.equal([
      ['in-turn', 'activity-1'],
      ['later-in-turn', 'activity-1'],
      ['after-turn', undefined],
    ]);
    expect(lines[1].entry.component).to.equal('dispatcher');
  });
});
