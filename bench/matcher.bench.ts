import { performance } from 'node:perf_hooks';
import { southwarkDirectory } from '../domain/directory/southwark';
import { DirectoryService, parseDirectory } from '../domain/directory/schema';
import { matchPerson } from '../domain/eligibility/matcher';
import type { PersonFacts } from '../domain/eligibility/facts';

/**
 * One person matched against a synthetic directory of 10,000 services (variants of the real
 * entries with shifted ages, boroughs, waits and statuses, so every rule kind is exercised).
 * Reports per-match latency percentiles and the heap the directory and matching use.
 */
export interface MatcherBenchResult {
  name: string;
  services: number;
  runs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  directoryHeapMiB: number;
  heapGrowthPerMatchKiB: number;
}

export function syntheticDirectory(size: number): DirectoryService[] {
  const templates = southwarkDirectory();
  const boroughs = ['southwark', 'lambeth', 'lewisham', 'croydon'] as const;
  const services: DirectoryService[] = [];
  for (let index = 0; index < size; index += 1) {
    const template = templates[index % templates.length];
    const eligibility = template.eligibility?.map((rule) => {
      if (rule.rule === 'minimumAge') return { ...rule, age: 40 + (index % 30) };
      if (rule.rule === 'livesIn') return { ...rule, boroughs: [boroughs[index % 4]] };
      return rule;
    }) ?? null;
    const { reopensOn: _templateReopens, ...fromTemplate } = template;
    services.push({
      ...fromTemplate,
      id: `${template.id}-${index}`,
      name: `${template.name} #${index}`,
      eligibility,
      waitingTimeWeeks: index % 3 === 0 ? { value: null, note: 'not published' } : { value: index % 12 },
      // Paused ones say when they reopen, as the directory's schema asks.
      ...(index % 7 === 0 ? { status: 'paused' as const, reopensOn: '2027-03-01' } : { status: 'open' as const }),
    });
  }
  return parseDirectory({ version: 1, services });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

export async function run(options: { services?: number; runs?: number } = {}): Promise<MatcherBenchResult> {
  const size = options.services ?? 10_000;
  const runs = options.runs ?? 1000;
  const before = heapUsed();
  const directory = syntheticDirectory(size);
  const directoryHeap = heapUsed() - before;
  const now = new Date('2026-11-24T12:00:00Z');
  const person: PersonFacts = {
    dateOfBirth: '1971-06-01',
    borough: 'southwark',
    gpBorough: 'southwark',
    sociallyIsolated: true,
    mentalHealth: 'low-medium',
    longTermConditions: 3,
    dischargeFrom: 'kings-college-hospital',
    referralRoute: 'gp',
  };

  for (let i = 0; i < 30; i += 1) matchPerson(person, directory, { now }); // warm up the JIT
  const heapBefore = heapUsed();
  const timings: number[] = [];
  let sink = 0;
  for (let i = 0; i < runs; i += 1) {
    const start = performance.now();
    const result = matchPerson(person, directory, { now });
    timings.push(performance.now() - start);
    sink += result.eligible.length;
  }
  const heapGrowth = heapUsed() - heapBefore;
  if (sink === 0) throw new Error('the synthetic person matched nothing: the benchmark is not exercising ranking');
  timings.sort((a, b) => a - b);
  return {
    name: 'matcher: one person vs 10,000 services',
    services: size,
    runs,
    p50Ms: round(percentile(timings, 50)),
    p99Ms: round(percentile(timings, 99)),
    maxMs: round(timings[timings.length - 1]),
    directoryHeapMiB: round(directoryHeap / 1024 / 1024),
    heapGrowthPerMatchKiB: round(heapGrowth / runs / 1024),
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
