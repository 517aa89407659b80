import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EmailLink, linkExpiry, linkStanding, offeredNow } from '../../domain/email/links';
import { LinkSigner, linkSecret, newLinkId } from '../../bot/email/linkSigner';
import { RateLimiter } from '../../bot/email/rateLimit';
import { requestedAction } from '../../bot/email/emailInputs';

const NOW = new Date('2026-11-24T12:00:00Z');
const link = (overrides: Partial<EmailLink> = {}): EmailLink => ({
  id: newLinkId(),
  to: 'referrals@ageuk-lambeth.example',
  referralId: '9ee7d55e-0154-498f-aa8c-ce44c926d7c4',
  version: 3,
  actions: ['accept', 'decline', 'view-contact'],
  expiresAt: linkExpiry(NOW, 14),
  ...overrides,
});

describe('Email links: signing, standing, inputs and rate limits', () => {
  const signer = new LinkSigner(Buffer.from('a-test-secret-for-signing-email-links-0123456789'));

  it('verifies its own links and refuses altered, truncated, re-signed and oversized ones', () => {
    const original = link();
    const token = signer.sign(original);
    expect(signer.verify(token)).to.deep.equal(original);
    const [payload, mac] = token.split('.');
    const altered = Buffer.from(JSON.stringify({ ...original, actions: ['accept', 'close'] })).toString('base64url');
    expect(signer.verify(`${altered}.${mac}`)).to.equal(undefined);
    expect(signer.verify(`${payload}.${mac.slice(0, -1)}`)).to.equal(undefined);
    expect(signer.verify(token.slice(0, -2) + (token.endsWith('A') ? 'BB' : 'AA'))).to.equal(undefined);
    expect(new LinkSigner(Buffer.from('another-secret-another-secret-another-secret')).verify(token)).to.equal(undefined);
    expect(signer.verify('x'.repeat(5_000))).to.equal(undefined);
    // Signed, but not a link: the schema refuses it.
    const notALink = Buffer.from(JSON.stringify({ hello: 'world' })).toString('base64url');
    expect(signer.verify(`${notALink}.${signer.sign(original).split('.')[1]}`)).to.equal(undefined);
  });

  it('keeps a generated secret in the data folder, readable only by its owner, and uses the configured one when set', () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'signpost-secret-'));
    try {
      const first = linkSecret('', folder);
      expect(first.length).to.be.at.least(32);
      expect(linkSecret('', folder).equals(first)).to.equal(true);
      expect(statSync(path.join(folder, 'email-link-secret')).mode & 0o077).to.equal(0);
      expect(linkSecret('configured-secret-configured-secret-123', folder).toString()).to.equal('configured-secret-configured-secret-123');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('says whether a link may act: expired, used, out of date, gone or usable', () => {
    const current = { version: 3, escalations: [{ id: 'esc-1' }] };
    expect(linkStanding(link(), NOW, current, false)).to.equal('usable');
    expect(linkStanding(link({ expiresAt: linkExpiry(NOW, 0) }), NOW, current, false)).to.equal('expired');
    expect(linkStanding(link(), NOW, current, true)).to.equal('used');
    expect(linkStanding(link({ version: 2 }), NOW, current, false)).to.equal('stale');
    expect(linkStanding(link(), NOW, undefined, false)).to.equal('gone');
    expect(linkStanding(link({ version: 1, escalationId: 'esc-1' }), NOW, current, false)).to.equal('usable');
    expect(linkStanding(link({ escalationId: 'esc-2' }), NOW, current, false)).to.equal('gone');
    expect(offeredNow(link(), ['accept', 'assign'])).to.deep.equal(['accept']);
    expect(offeredNow(link({ actions: ['escalation-advice'] }), ['escalation-answer'])).to.deep.equal(['escalation-advice']);
  });

  it('parses each verb\'s inputs and refuses what is not a valid choice', () => {
    expect(requestedAction('decline', { reason: 'no-capacity', note: '' }, {})).to.deep.equal({ ok: true, requested: { verb: 'decline', reason: 'no-capacity', note: undefined } });
    expect(requestedAction('decline', { reason: 'bored' }, {})).to.deep.equal({ ok: false, reason: 'Choose why you are declining' });
    expect(requestedAction('update', { status: ['contacted'] }, {}).ok).to.equal(false);
    expect(requestedAction('escalation-advice', { note: '  ' }, { escalationId: 'esc-1' })).to.deep.include({ ok: false });
    expect(requestedAction('escalation-take-over', {}, {})).to.deep.equal({ ok: false, reason: 'This link is not for an escalation' });
    expect(requestedAction('escalation-take-over', {}, { escalationId: 'esc-1' })).to.deep.equal({ ok: true, requested: { verb: 'escalation-take-over', escalationId: 'esc-1' } });
  });

  it('rate-limits per key and refills with time', () => {
    let now = 0;
    const limiter = new RateLimiter(3, 60, () => now);
    expect([1, 2, 3, 4].map(() => limiter.take('ip:1'))).to.deep.equal([true, true, true, false]);
    expect(limiter.take('ip:2')).to.equal(true);
    now += 1_000; // one token a second
    expect(limiter.take('ip:1')).to.equal(true);
    expect(limiter.take('ip:1')).to.equal(false);
  });

  it('when it holds too many keys, forgets the least recently used one, never a busy one', () => {
    const limiter = new RateLimiter(1, 0, () => 0, 2);
    expect([limiter.take('link:a'), limiter.take('link:b'), limiter.take('link:a')]).to.deep.equal([true, true, false]);
    // A third key: 'b' was used longest ago, so it is forgotten; 'a' stays spent.
    expect(limiter.take('link:c')).to.equal(true);
    expect(limiter.take('link:a')).to.equal(false);
    expect(limiter.take('link:b')).to.equal(true);
  });
});
