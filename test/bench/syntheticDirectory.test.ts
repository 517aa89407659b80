import { expect } from 'chai';
import { syntheticDirectory } from '../../bench/matcher.bench';

/**
 * `npm run bench` is not run by CI (its numbers need an idle machine), so its data is checked
 * here: a directory schema change once broke the synthetic directory and with it every bench after.
 */
describe('The benchmarks\' synthetic directory', () => {
  it('is a valid directory with open and paused services (each paused one saying when it reopens)', () => {
    const services = syntheticDirectory(70);
    expect(services).to.have.length(70);
    const paused = services.filter((service) => service.status === 'paused');
    expect(paused).to.have.length(10);
    expect(paused.every((service) => /^\d{4}-\d{2}-\d{2}$/.test(service.reopensOn ?? ''))).to.equal(true);
    expect(services.filter((service) => service.status === 'open' && service.reopensOn)).to.deep.equal([]);
  });
});
