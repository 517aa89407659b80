import { HazardLog, hazardLogSchema, riskRating } from './hazardLog';

/**
 * The rules that tie the hazard log to the test suite. Every control is proved by tests named
 * by their full mocha titles; those tests carry the tag below in their title (so
 * `mocha --grep @safety` runs exactly them); and no tagged test is left unnamed, so a
 * safeguard cannot disappear, or appear, without the log saying so.
 */

export const SAFETY_TAG = '@safety';

export function isTaggedAsSafety(fullTitle: string): boolean {
  return /(^|\s)@safety(\s|$)/.test(fullTitle);
}

export type ParsedLog = { log: HazardLog; problems: [] } | { log: undefined; problems: string[] };

/** The log's own shape: every problem names where it is. */
export function parseHazardLog(data: unknown): ParsedLog {
  const parsed = hazardLogSchema.safeParse(data);
  if (parsed.success) return { log: parsed.data, problems: [] };
  return { log: undefined, problems: parsed.error.issues.map((issue) => `${issue.path.join('.') || 'the log'}: ${issue.message}`) };
}

/** Problems within the log: ids, ratings against the matrix, and controls nothing proves. */
export function logProblems(log: HazardLog): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const once = (id: string) => {
    if (seen.has(id)) problems.push(`${id} is used twice`);
    seen.add(id);
  };
  for (const hazard of log.hazards) {
    once(hazard.id);
    for (const [label, risk] of [['initial risk', hazard.initialRisk], ['residual risk', hazard.residualRisk]] as const) {
      const expected = riskRating(risk.severity, risk.likelihood);
      if (risk.rating !== expected) {
        problems.push(`${hazard.id} ${label}: ${risk.severity} and ${risk.likelihood} rate ${expected} on the DCB0129 matrix, not ${risk.rating}`);
      }
    }
    if (hazard.residualRisk.rating > hazard.initialRisk.rating) {
      problems.push(`${hazard.id}: the residual risk (${hazard.residualRisk.rating}) is higher than the initial risk (${hazard.initialRisk.rating})`);
    }
    for (const control of hazard.controls) {
      once(control.id);
      if (!control.id.startsWith(`${hazard.id}-`)) problems.push(`${control.id} is listed under ${hazard.id}`);
      if (control.tests.length === 0) problems.push(`${control.id} has no test: name the mocha test that proves "${control.control}"`);
    }
    for (const action of hazard.openActions) {
      once(action.id);
      if (!action.id.startsWith(`${hazard.id}-`)) problems.push(`${action.id} is listed under ${hazard.id}`);
    }
  }
  return problems;
}

/** Problems between the log and the suite's full test titles (as mocha reports them). */
export function testProblems(log: HazardLog, testTitles: readonly string[]): string[] {
  const problems: string[] = [];
  const count = new Map<string, number>();
  for (const title of testTitles) count.set(title, (count.get(title) ?? 0) + 1);
  const named = new Set<string>();
  for (const hazard of log.hazards) {
    for (const control of hazard.controls) {
      for (const title of control.tests) {
        named.add(title);
        const found = count.get(title) ?? 0;
        const untagged = title.replace(/\s+@safety(?=\s|$)/, '');
        if (found === 0 && untagged !== title && count.has(untagged)) {
          problems.push(`${control.id} names "${title}", but that test has lost its ${SAFETY_TAG} tag: put it back, or say in the log what proves the control now`);
        } else if (found === 0) problems.push(`${control.id} names a test that does not exist: "${title}"`);
        else if (found > 1) problems.push(`${control.id} names "${title}", which is the title of ${found} tests: make it unique`);
        else if (!isTaggedAsSafety(title)) problems.push(`${control.id} names "${title}", which is not tagged ${SAFETY_TAG}: add the tag to its title`);
      }
    }
  }
  for (const title of new Set(testTitles)) {
    if (isTaggedAsSafety(title) && !named.has(title)) {
      problems.push(`"${title}" is tagged ${SAFETY_TAG} but no hazard names it: name it under the control it proves, or remove the tag`);
    }
  }
  return problems;
}

export interface CheckInput {
  /** The hazard log as read from its file. */
  data: unknown;
  testTitles: readonly string[];
  /** The committed safety case summary, and what `report` would write from this log now. */
  report?: { committed: string | undefined; current: (log: HazardLog) => string; path: string };
}

/** Every problem, in the order someone fixing them would want: the log, then the tests, then the report. */
export function checkSafety(input: CheckInput): { log?: HazardLog; problems: string[] } {
  const parsed = parseHazardLog(input.data);
  if (!parsed.log) return { problems: parsed.problems };
  const log = parsed.log;
  const problems = [...logProblems(log), ...testProblems(log, input.testTitles)];
  if (input.report && input.report.committed !== input.report.current(log)) {
    problems.push(`${input.report.path} is not what the hazard log gives now: run npm run safety -- report, and commit it`);
  }
  return { log, problems };
}
