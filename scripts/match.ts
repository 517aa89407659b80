import { readFileSync } from 'node:fs';
import { southwarkDirectory } from '../domain/directory/southwark';
import { parsePersonFacts } from '../domain/eligibility/facts';
import { matchPerson, ServiceMatch } from '../domain/eligibility/matcher';

/**
 * `npm run --silent match -- <person.json>`: for directory maintainers and auditors, which
 * services one person is eligible for and why, as one JSON object on stdout.
 * Exit codes: 0 answered, 2 bad input (the problems on stderr).
 */
function main(argv: string[]): number {
  const file = argv[0];
  if (!file || argv.length > 1) {
    process.stderr.write('usage: npm run --silent match -- <person.json>\n');
    return 2;
  }
  let input: unknown;
  try {
    input = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    process.stderr.write(`${file}: ${(error as Error).message}\n`);
    return 2;
  }
  const parsed = parsePersonFacts(input);
  if (!parsed.ok) {
    for (const problem of parsed.errors) process.stderr.write(`${problem.field}: ${problem.message}\n`);
    return 2;
  }
  const result = matchPerson(parsed.facts, southwarkDirectory(), { now: new Date() });
  const view = (match: ServiceMatch) => ({
    serviceId: match.serviceId,
    name: match.name,
    reasons: match.reasons,
    waitingTimeWeeks: match.waitingTimeWeeks,
    status: match.status,
    unverified: match.unverified,
    lastVerified: match.lastVerified,
  });
  const output = {
    urgent: result.urgent,
    ...(result.urgent ? { urgentActions: result.urgentActions } : {}),
    eligible: result.eligible.map(view),
    nearMiss: result.nearMiss.map(view),
    ineligible: result.ineligible.map(view),
    fallback: result.fallback,
  };
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
