import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Request, Response, Server } from 'restify';
import { z } from 'zod';
import { CLOSE_REASONS, DECLINE_REASONS, PROGRESS_STATUSES } from '../../domain/referral/lifecycle';
import { plainText } from '../../domain/text';
import type { RequestedAction } from '../referrals/referralActions';
import { describeError, Logger } from '../app/log';
import { LOCAL_PERSON_HEADER, TabAccess, TabUnauthenticated } from './tabAccess';
import type { TabUser } from './tabPeople';
import { CASELOAD_FILTERS, TabRefusal, TabViews } from './tabViews';

/**
 * The Signpost tab over HTTP: its page and bundle (built by esbuild at `npm run build`, served
 * from dist/tab/assets, nothing fetched from anywhere else), and its API under /api/tab. Every
 * response carries a strict Content-Security-Policy whose frame-ancestors are Teams' (and this
 * machine's in local mode); every API input is parsed with zod, and every call is identified
 * (tabAccess.ts) and authorised (tabViews.ts) on the server.
 */

const ASSETS = path.resolve(__dirname, '..', '..', 'tab', 'assets');

/** Where Teams, Outlook and the Microsoft 365 app host tabs: the only pages that may frame the tab. */
export const TEAMS_FRAME_ANCESTORS = [
  'https://teams.microsoft.com',
  'https://*.teams.microsoft.com',
  'https://teams.cloud.microsoft',
  'https://*.cloud.microsoft',
  'https://*.office.com',
  'https://outlook.office.com',
  'https://*.microsoft365.com',
  'https://teams.live.com',
];

export function contentSecurityPolicy(localMode: boolean): string {
  const ancestors = ["'self'", ...TEAMS_FRAME_ANCESTORS, ...(localMode ? ['http://localhost:*', 'http://127.0.0.1:*'] : [])];
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${ancestors.join(' ')}`,
  ].join('; ');
}

const serviceId = z.string().trim().min(1).max(80).regex(/^[a-z0-9-]+$/, 'Expected a service id');
const referralId = z.string().uuid();
const optionalNote = (max: number) => plainText({ max, min: 0 }).optional().transform((value) => value || undefined);

/** What the tab may ask to do to a referral: the card's verbs that need no scores or escalation forms. */
const actionSchema = z
  .object({
    version: z.number().int().min(1),
    action: z.discriminatedUnion('verb', [
      z.object({ verb: z.literal('accept') }).strict(),
      z.object({ verb: z.literal('assign'), assigneeId: z.string().min(1).max(200) }).strict(),
      z.object({ verb: z.literal('update'), status: z.enum(PROGRESS_STATUSES), activity: optionalNote(120) }).strict(),
      z.object({ verb: z.literal('decline'), reason: z.enum(DECLINE_REASONS), note: optionalNote(500) }).strict(),
      z.object({ verb: z.literal('close'), reason: z.enum(CLOSE_REASONS), note: optionalNote(500) }).strict(),
    ]),
  })
  .strict();

const caseloadQuery = z.object({ filter: z.enum(CASELOAD_FILTERS).default('all') }).strict();
const reportQuery = z.object({ year: z.coerce.number().int().min(2020).max(2100) }).strict();

export interface TabRouteParts {
  access: TabAccess;
  views: TabViews;
  logger: Logger;
}

export function mountTab(server: Server, parts: TabRouteParts): void {
  const { access, views, logger } = parts;
  const csp = contentSecurityPolicy(access.localMode);
  const secure = (res: Response, cache: string) => {
    res.setHeader('content-security-policy', csp);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('cache-control', cache);
  };

  const page = (kind: 'content' | 'config') => async (_req: Request, res: Response) => {
    secure(res, 'no-cache');
    res.sendRaw(200, tabPage(kind, access.localMode), { 'content-type': 'text/html; charset=utf-8' });
  };
  server.get('/tab', page('content'));
  server.get('/tab/config', page('config'));

  const assetTypes: Record<string, string> = { 'tab.js': 'text/javascript; charset=utf-8', 'tab.css': 'text/css; charset=utf-8' };
  server.get('/tab/assets/:file', async (req: Request, res: Response) => {
    const file = String(req.params.file);
    secure(res, 'no-cache');
    if (!(file in assetTypes)) {
      res.send(404, { error: 'Not found.' });
      return;
    }
    try {
      res.sendRaw(200, await readFile(path.join(ASSETS, file)), { 'content-type': assetTypes[file] });
    } catch {
      res.send(500, { error: 'The tab has not been built: run npm run build.' });
    }
  });

  /** An API call: identified, input parsed, refusals as plain-English status answers. */
  const api =
    <T>(answer: (user: TabUser, req: Request) => Promise<T>, send: (res: Response, body: T) => void = (res, body) => res.send(200, body)) =>
    async (req: Request, res: Response) => {
      secure(res, 'no-store');
      try {
        const user = await access.identify({ authorization: req.header('authorization'), localPerson: req.header(LOCAL_PERSON_HEADER) });
        send(res, await answer(user, req));
      } catch (error) {
        if (error instanceof TabUnauthenticated) {
          logger.warn('tab-unauthenticated', { code: error.code, status: error.status });
          res.send(error.status, { error: error.message });
        } else if (error instanceof TabRefusal) {
          res.send(error.status, { error: error.message });
        } else if (error instanceof z.ZodError) {
          res.send(400, { error: 'That request was not understood.', problems: error.issues.map((issue) => `${issue.path.join('.') || 'request'}: ${issue.message}`) });
        } else {
          logger.error('tab-api-failed', { ...describeError(error), route: req.getRoute()?.path?.toString() });
          res.send(500, { error: 'Something went wrong on our side. Please try again.' });
        }
      }
    };

  server.get('/api/tab/people', async (_req: Request, res: Response) => {
    secure(res, 'no-store');
    if (!access.localMode) res.send(404, { error: 'Not found.' });
    else res.send(200, { localMode: true, people: access.localPeople() });
  });
  server.get('/api/tab/me', api((user) => views.roles(user)));
  server.get('/api/tab/my-referrals', api((user) => views.myReferrals(user)));
  server.get(
    '/api/tab/services/:serviceId/caseload',
    api((user, req) => views.caseload(user, serviceId.parse(req.params.serviceId), caseloadQuery.parse(query(req)).filter)),
  );
  server.get('/api/tab/services/:serviceId/dashboard', api((user, req) => views.dashboard(user, serviceId.parse(req.params.serviceId))));
  server.get('/api/tab/referrals/:referralId', api((user, req) => views.referral(user, referralId.parse(req.params.referralId))));
  server.post(
    '/api/tab/referrals/:referralId/actions',
    api((user, req) => {
      const { version, action } = actionSchema.parse(req.body);
      return views.act(user, referralId.parse(req.params.referralId), version, action as RequestedAction);
    }),
  );
  server.get('/api/tab/report', api((user, req) => views.boroughReport(user, reportQuery.parse(query(req)).year)));
  server.get(
    '/api/tab/report.csv',
    api(
      (user, req) => views.boroughReportCsv(user, reportQuery.parse(query(req)).year),
      (res, report) => res.sendRaw(200, report.csv, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="signpost-borough-report-${report.year}.csv"` }),
    ),
  );
}

function query(req: Request): Record<string, string> {
  return Object.fromEntries(new URL(req.url ?? '/', 'http://localhost').searchParams);
}

/** The tab's one page: the bundle renders everything; the mode tells it how to sign in. */
function tabPage(kind: 'content' | 'config', localMode: boolean): string {
  return `<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="signpost-mode" content="${localMode ? 'local' : 'teams'}">
<meta name="signpost-page" content="${kind}">
<title>Signpost</title>
<link rel="stylesheet" href="/tab/assets/tab.css">
</head>
<body>
<a class="skip-link" href="#main">Skip to main content</a>
<div id="banner"></div>
<header class="masthead"><p class="brand">Signpost</p><nav id="nav" aria-label="Signpost views"></nav></header>
<main id="main" tabindex="-1"><p>Loading…</p></main>
<div id="status" role="status" aria-live="polite" class="visually-hidden"></div>
<script src="/tab/assets/tab.js"></script>
</body>
</html>
`;
}
