import { performance } from 'node:perf_hooks';
import { Template } from 'adaptivecards-templating';
import template from '../cards/referral/service-referral.json';
import { serviceReferralCard } from '../cards/serviceReferralCard';
import type { Referral } from '../domain/referral/referral';
import { caseState, permittedVerbs } from '../domain/referral/lifecycle';

/**
 * Rendering the largest card, the link workers' referral card in a service channel as its owner
 * sees it (every tool, and the refresh listing the team), as every click and refresh does: through renderCard, whose templates are parsed once per process. For comparison,
 * the cost of parsing that template, which every render paid before. Reports p50/p99.
 */
export interface CardsBenchResult {
  name: string;
  runs: number;
  renderP50Ms: number;
  renderP99Ms: number;
  /** What each render used to pay on top: parsing the template's expressions. */
  parseP50Ms: number;
  parseP99Ms: number;
  cardBytes: number;
}

const RUNS = Number(process.env.BENCH_CARD_RENDERS ?? 2_000);

export async function run(): Promise<CardsBenchResult> {
  const referral = benchReferral();
  const members = Array.from({ length: 20 }, (_, index) => ({ id: `29:member-${index}`, name: `Link Worker ${index}` }));
  const context = {
    serviceName: 'Safe and Independent Living (SAIL) signposting programme',
    members,
    redirectServices: [{ id: 'sail-care-navigation', name: 'SAIL Care Navigation' }],
    history: ['24 Nov, 12:00: Referred by Amira Patel', '24 Nov, 12:05: Accepted by Kwame Mensah', '24 Nov, 14:00: Contacted, recorded by Kwame Mensah'],
    notice: 'Contacted, recorded by Kwame Mensah.',
    viewer: { id: referral.owner!.id, verbs: permittedVerbs(caseState(referral), { id: referral.owner!.id, isLinkWorker: true }), isLinkWorker: true },
    refreshUserIds: members.map((member) => member.id),
  };
  const card = serviceReferralCard(referral, context);
  const render = measure(() => serviceReferralCard(referral, context));
  const parse = measure(() => new Template(template));
  return {
    name: 'card-render',
    runs: RUNS,
    renderP50Ms: render.p50,
    renderP99Ms: render.p99,
    parseP50Ms: parse.p50,
    parseP99Ms: parse.p99,
    cardBytes: JSON.stringify(card).length,
  };
}

function measure(render: () => unknown): { p50: number; p99: number } {
  for (let index = 0; index < 100; index += 1) render();
  const times: number[] = [];
  for (let index = 0; index < RUNS; index += 1) {
    const started = performance.now();
    render();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const at = (share: number) => Math.round(times[Math.min(times.length - 1, Math.floor(times.length * share))] * 1000) / 1000;
  return { p50: at(0.5), p99: at(0.99) };
}

function benchReferral(): Referral {
  const at = '2026-11-24T12:00:00.000Z';
  return {
    id: '0b6f6c1e-8d4a-4b7e-9c15-2a6e0f9d7b31',
    reference: 'SP-2026-000123',
    status: 'contacted',
    version: 3,
    serviceId: 'sail',
    facts: { age: 76, borough: 'southwark', sociallyIsolated: true, longTermConditions: 2 },
    whatMatters: 'Company at lunchtime and help getting to the shops',
    match: { eligibleServiceIds: ['sail', 'sail-care-navigation'], nearMissServiceIds: [], chosenServiceId: 'sail', chosenWasNearMiss: false, reasons: ['Meets: requires age over 50; person is 76'] },
    person: {
      givenName: 'Bench', familyName: 'Person', dateOfBirth: '1950-03-14', postcode: 'SE5 8AU', borough: 'southwark',
      phone: '020 7946 0000', preferredContactMethod: 'phone', language: 'English', interpreterNeeded: false, carerInvolved: false,
    },
    consent: { consentToReferral: true, consentToShare: true, method: 'verbal', recordedAt: at, recordedBy: { id: '29:r', name: 'Referrer' } },
    referrer: { teamsUserId: '29:r', name: 'Referrer', email: 'referrer@practice.example', practice: 'Bench Surgery' },
    referrerConversation: { serviceUrl: 'http://127.0.0.1:1/', channelId: 'msteams', conversation: { id: 'a:1' } },
    owner: { id: '29:kwame', name: 'Kwame Mensah' },
    acceptedAt: at,
    createdAt: at,
    updatedAt: at,
  };
}
