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

  it('converts every raw score from 7 to 35 to the metric score the published table gives @safety', () => {
    // Stewart-Brown et al. 2009, the SWEMWBS raw to metric conversion table, row by row.
    const published: Record<number, number> = {
      7: 7.0, 8: 9.51, 9: 11.25, 10: 12.4, 11: 13.33, 12: 14.08, 13: 14.75, 14: 15.32, 15: 15.84, 16: 16.36,
      17: 16.88, 18: 17.43, 19: 17.98, 20: 18.59, 21: 19.25, 22: 19.98, 23: 20.73, 24: 21.54, 25: 22.35,
      26: 23.21, 27: 24.11, 28: 25.03, 29: 26.02, 30: 27.03, 31: 28.13, 32: 29.31, 33: 30.7, 34: 32.55, 35: 35.0,
    };
    for (let raw = 7; raw <= 35; raw += 1) expect(swemwbsMetric(raw), `raw ${raw}`).to.equal(published[raw]);
    for (const impossible of [6, 36, 20.5, Number.NaN]) expect(() => swemwbsMetric(impossible), String(impossible)).to.throw(RangeError);
  });

  it('scores seven items of 1-5 and refuses anything else @safety', () => {
    expect(scoreSwemwbs([3, 3, 3, 3, 3, 3, 3], 't')).to.deep.include({ raw: 21, metric: 19.25 });
    expect(() => scoreSwemwbs([3, 3, 3], 't')).to.throw();
    expect(() => scoreSwemwbs([3, 3, 3, 3, 3, 3, 6], 't')).to.throw();
  });

  it('keeps ONS4 scores separate, 0-10 each @safety', () => {
    expect(ons4Schema.safeParse({ lifeSatisfaction: '7', worthwhile: 8, happiness: 6, anxiety: 3 }).success).to.equal(true);
    expect(ons4Schema.safeParse({ lifeSatisfaction: 11, worthwhile: 8, happiness: 6, anxiety: 3 }).success).to.equal(false);
  });

  it('describes the change from baseline to closing @safety', () => {
    const baseline = scoreSwemwbs([2, 2, 2, 2, 2, 2, 2], 'a'); // raw 14 -> 15.32
    const closing = scoreSwemwbs([3, 3, 3, 3, 3, 3, 3], 'b'); // raw 21 -> 19.25
    expect(describeChange({ baseline, closing })).to.equal('SWEMWBS 15.32 to 19.25 (+3.93)');
    expect(describeChange({ baseline })).to.equal(undefined);
    const ons = (anxiety: number) => ({ tool: 'ons4' as const, scores: { lifeSatisfaction: 5, worthwhile: 5, happiness: 5, anxiety }, at: 'x' });
    expect(describeChange({ baseline: ons(8), closing: ons(4) })).to.contain('anxiety (lower is better) 8 to 4');
  });
});
