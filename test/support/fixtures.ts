import { randomUUID } from 'node:crypto';
import type { Referral, ReferralPerson } from '../../domain/referral/referral';

export const FIXTURE_TIME = '2026-11-24T12:00:00.000Z';

/** A valid submitted referral to SAIL for a made-up person (Jane Example, NHS 943 476 5919). */
export function sampleReferral(overrides: Partial<Referral> = {}): Referral & { person: ReferralPerson } {
  return {
    id: randomUUID(),
    reference: 'SP-2026-000001',
    status: 'submitted',
    version: 1,
    serviceId: 'sail',
    facts: { age: 76, borough: 'southwark', sociallyIsolated: true },
    whatMatters: 'Company at lunchtime',
    match: {
      eligibleServiceIds: ['sail', 'sail-care-navigation'],
      nearMissServiceIds: [],
      chosenServiceId: 'sail',
      chosenWasNearMiss: false,
      reasons: ['Meets: requires age over 50; person is 76'],
    },
    person: {
      givenName: 'Jane',
      familyName: 'Example',
      dateOfBirth: '1950-03-14',
      nhsNumber: '9434765919',
      postcode: 'SE5 8AU',
      borough: 'southwark',
      phone: '020 7946 0000',
      preferredContactMethod: 'phone',
      preferredContactTimes: 'mornings',
      language: 'English',
      interpreterNeeded: false,
      carerInvolved: false,
    },
    consent: { consentToReferral: true, consentToShare: true, method: 'verbal', recordedAt: FIXTURE_TIME, recordedBy: { id: '29:r', name: 'Amira Patel' } },
    referrer: { teamsUserId: '29:r', name: 'Amira Patel', email: 'amira@practice.example', practice: 'Lordship Lane Surgery' },
    referrerConversation: { serviceUrl: 'http://127.0.0.1:1/', channelId: 'msteams', conversation: { id: 'a:1' } },
    createdAt: FIXTURE_TIME,
    updatedAt: FIXTURE_TIME,
    ...overrides,
  } as Referral & { person: ReferralPerson };
}
