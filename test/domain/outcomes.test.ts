import { expect } from 'chai';
import { describeChange, scoreSwemwbs, swemwbsMetric, ons4Schema } from '../../domain/referral/outcomes';

describe('Outcome measures (pure)', () => {
  it('converts SWEMWBS raw scores with the Stewart-Brown et al. 2009 table', () => {
    expect(swemwbsMetric(7)).to.equal(7.0);
    expect(swemwbsMetric(21)).to.equal(19.25);
    expect(swemwbsMetric(35)).to.equal(35.0);
    expect(swemwbsMetric(28)).to.equal(25.03);
    // The table rises with every raw point.
    for (let raw = 8; raw <= 35; raw += 1) expect(swemwbsMetric(raw)).to.be.greaterThan(swemwbsMetric(raw - 1));
    expect(() => swemwbsMetric(6)).to.throw(RangeError);
    expect(() => swemwbsMetric(36)).to.throw(RangeError);
  });

  it('scores seven items of 1-5 and refuses anything else', () => {
    expect(scoreSwemwbs([3, 3, 3, 3, 3, 3, 3], 't')).to.deep.include({ raw: 21, metric: 19.25 });
    expect(() => scoreSwemwbs([3, 3, 3], 't')).to.throw();
    expect(() => scoreSwemwbs([3, 3, 3, 3, 3, 3, 6], 't')).to.throw();
  });

  it('keeps ONS4 scores separate, 0-10 each', () => {
    expect(ons4Schema.safeParse({ lifeSatisfaction: '7', worthwhile: 8, happiness: 6, anxiety: 3 }).success).to.equal(true);
    expect(ons4Schema.safeParse({ lifeSatisfaction: 11, worthwhile: 8, happiness: 6, anxiety: 3 }).success).to.equal(false);
  });

  it('describes the change from baseline to closing', () => {
    const baseline = scoreSwemwbs([2, 2, 2, 2, 2, 2, 2], 'a'); // raw 14 -> 15.32
    const closing = scoreSwemwbs([3, 3, 3, 3, 3, 3, 3], 'b'); // raw 21 -> 19.25
    expect(describeChange({ baseline, closing })).to.equal('SWEMWBS 15.32 to 19.25 (+3.93)');
    expect(describeChange({ baseline })).to.equal(undefined);
    const ons = (anxiety: number) => ({ tool: 'ons4' as const, scores: { lifeSatisfaction: 5, worthwhile: 5, happiness: 5, anxiety }, at: 'x' });
    expect(describeChange({ baseline: ons(8), closing: ons(4) })).to.contain('anxiety (lower is better) 8 to 4');
  });
});
