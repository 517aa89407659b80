import { h, nextId, show, svg, when } from './dom';
import type { SignpostApi } from './api';
import type { ReportRow } from '../../domain/reports/boroughReport';

/**
 * The tab's views. Each fetches what the server lets this person see and renders it as plain,
 * accessible HTML: headings in order, tables with captions and header cells, labelled inputs,
 * results announced in a live region.
 */

interface ServiceRef {
  id: string;
  name: string;
}
export interface Roles {
  name: string;
  linkWorkerOf: ServiceRef[];
  supervisorOf: ServiceRef[];
  boroughReport: boolean;
}
interface Summary {
  id: string;
  reference: string;
  initials: string;
  service: string;
  statusLabel: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}
interface TimelineEntry {
  at: string;
  what: string;
}
type Choice = { value: string; label: string };

export interface Context {
  api: SignpostApi;
  main: HTMLElement;
  announce: (message: string) => void;
}

function heading(main: HTMLElement, text: string): HTMLHeadingElement {
  const title = h('h1', { tabindex: -1 }, text);
  show(main, title);
  document.title = `${text} - Signpost`;
  return title;
}

function table(caption: string, headers: string[], rows: Array<Array<Node | string | number>>): HTMLElement {
  return h(
    'div',
    { class: 'table-scroll', role: 'region', 'aria-label': caption, tabindex: 0 },
    h(
      'table',
      {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headers.map((header) => h('th', { scope: 'col' }, header)))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell, index) => (index === 0 ? h('th', { scope: 'row' }, cell) : h('td', {}, cell)))))),
    ),
  );
}

/** What happened to a referral, oldest first, each with its time. */
function timelineList(entries: TimelineEntry[], label?: string): HTMLElement {
  return h('ol', { class: 'timeline', 'aria-label': label }, entries.map((entry) => h('li', {}, h('time', { datetime: entry.at }, when(entry.at)), ` ${entry.what}`)));
}

export async function myReferrals(context: Context): Promise<void> {
  const { referrals } = await context.api.get<{ referrals: Array<Summary & { timeline: TimelineEntry[] }> }>('/api/tab/my-referrals');
  heading(context.main, 'My referrals');
  if (referrals.length === 0) {
    context.main.append(h('p', {}, 'You have not made any referrals with Signpost yet. Say "refer" to Signpost in a chat to make one.'));
    return;
  }
  context.main.append(
    h(
      'ul',
      { class: 'cards' },
      referrals.map((referral) =>
        h(
          'li',
          { class: 'card' },
          h('h2', {}, h('a', { href: `#/referral/${referral.id}` }, `${referral.reference} (${referral.initials})`)),
          h('p', {}, `${referral.service}: `, h('strong', {}, referral.statusLabel)),
          timelineList(referral.timeline, `Timeline of ${referral.reference}`),
        ),
      ),
    ),
  );
}

const FILTERS: Choice[] = [
  { value: 'all', label: 'All open referrals' },
  { value: 'mine', label: 'Mine' },
  { value: 'unassigned', label: 'Unassigned' },
  { value: 'overdue', label: 'Overdue' },
];

export async function caseload(context: Context, serviceId: string, filter: string): Promise<void> {
  type Case = Summary & { owner?: string; mine: boolean; daysSinceUpdate: number; overdue: boolean };
  const data = await context.api.get<{ service: ServiceRef; referrals: Case[] }>(`/api/tab/services/${encodeURIComponent(serviceId)}/caseload?filter=${encodeURIComponent(filter)}`);
  heading(context.main, `Caseload: ${data.service.name}`);
  const selectId = nextId('filter');
  const select = h(
    'select',
    { id: selectId, onchange: (event: Event) => (location.hash = `#/caseload/${serviceId}/${(event.target as HTMLSelectElement).value}`) },
    FILTERS.map((choice) => h('option', { value: choice.value, selected: choice.value === filter }, choice.label)),
  );
  context.main.append(h('div', { class: 'field' }, h('label', { for: selectId }, 'Show'), select));
  if (data.referrals.length === 0) {
    context.main.append(h('p', {}, 'No referrals to show.'));
    return;
  }
  context.main.append(
    table(
      `${FILTERS.find((choice) => choice.value === filter)?.label ?? 'Referrals'}: ${data.referrals.length}`,
      ['Reference', 'Person', 'Status', 'Owner', 'Days since last update', 'Overdue'],
      data.referrals.map((item) => [
        h('a', { href: `#/referral/${item.id}` }, item.reference),
        item.initials,
        item.statusLabel,
        item.owner ? (item.mine ? `${item.owner} (you)` : item.owner) : 'Unassigned',
        item.daysSinceUpdate,
        item.overdue ? h('strong', { class: 'overdue' }, 'Overdue') : 'No',
      ]),
    ),
  );
}

interface ServiceView extends Summary {
  view: 'service';
  owner?: string;
  facts: Array<{ label: string; value: string }>;
  whatMatters: string;
  reasons: string[];
  history: TimelineEntry[];
  may: string[];
  choices: { assignees: Choice[]; progress: Choice[]; declineReasons: Choice[]; closeReasons: Choice[] };
}
interface ReferrerView extends Summary {
  view: 'referrer';
  timeline: TimelineEntry[];
}

export async function referral(context: Context, referralId: string, notice?: string): Promise<void> {
  const data = await context.api.get<ServiceView | ReferrerView>(`/api/tab/referrals/${encodeURIComponent(referralId)}`);
  heading(context.main, `${data.reference} (${data.initials})`);
  if (notice) context.main.append(h('p', { class: 'notice' }, notice));
  context.main.append(h('p', {}, `${data.service}: `, h('strong', {}, data.statusLabel)));
  if (data.view === 'referrer') {
    context.main.append(h('h2', {}, 'Timeline'), timelineList(data.timeline));
    return;
  }
  context.main.append(
    h('dl', { class: 'facts' }, data.facts.map((fact) => [h('dt', {}, fact.label), h('dd', {}, fact.value)])),
    h('h2', {}, 'What matters to them'),
    h('p', {}, data.whatMatters),
    h('h2', {}, 'Why it came to this service'),
    h('ul', {}, data.reasons.map((reason) => h('li', {}, reason))),
  );
  if (data.may.length) context.main.append(h('h2', {}, 'Actions'), ...actionForms(context, data));
  context.main.append(h('h2', {}, 'History'), timelineList(data.history));
}

/** One form per action this person may take, each posting through the application layer. */
function actionForms(context: Context, data: ServiceView): HTMLElement[] {
  const submit = (action: Record<string, unknown>) => async (event: Event) => {
    event.preventDefault();
    const button = (event.target as HTMLFormElement).querySelector('button');
    if (button) button.disabled = true;
    try {
      const outcome = await context.api.post<{ kind: string; notice: string }>(`/api/tab/referrals/${data.id}/actions`, { version: data.version, action: { ...action, ...fields(event.target as HTMLFormElement) } });
      context.announce(outcome.notice);
      await referral(context, data.id, outcome.notice);
    } catch (error) {
      context.announce((error as Error).message);
      if (button) button.disabled = false;
    }
  };
  const selectField = (name: string, label: string, choices: Choice[]) => {
    const id = nextId(name);
    return h('div', { class: 'field' }, h('label', { for: id }, label), h('select', { id, name, required: true }, choices.map((choice) => h('option', { value: choice.value }, choice.label))));
  };
  const noteField = (name: string, label: string, max: number) => {
    const id = nextId(name);
    return h('div', { class: 'field' }, h('label', { for: id }, label), h('textarea', { id, name, maxlength: max, rows: 2 }));
  };
  const form = (verb: string, title: string, button: string, ...inputs: HTMLElement[]) =>
    h('form', { class: 'action', 'aria-label': title, onsubmit: submit({ verb }) }, inputs, h('button', { type: 'submit' }, button));
  const forms: Record<string, () => HTMLElement> = {
    accept: () => form('accept', 'Accept', 'Accept'),
    assign: () => form('assign', 'Assign', 'Assign', selectField('assigneeId', 'Assign to', data.choices.assignees)),
    update: () => form('update', 'Record progress', 'Save update', selectField('status', 'What has happened', data.choices.progress), noteField('activity', 'Activity (optional)', 120)),
    decline: () => form('decline', 'Decline', 'Decline', selectField('reason', 'Why you are declining', data.choices.declineReasons), noteField('note', 'Note for the referrer (optional)', 500)),
    close: () => form('close', 'Close', 'Close referral', selectField('reason', 'Why it is closing', data.choices.closeReasons), noteField('note', 'Note for the referrer (optional)', 500)),
  };
  return data.may.filter((verb) => verb in forms).map((verb) => forms[verb]());
}

function fields(form: HTMLFormElement): Record<string, string> {
  const values: Record<string, string> = {};
  new FormData(form).forEach((value, name) => {
    if (typeof value === 'string' && value.trim() !== '') values[name] = value;
  });
  return values;
}

interface Dashboard {
  service: ServiceRef;
  openByStatus: Array<{ status: string; label: string; count: number }>;
  breaches: Array<{ rule: string; count: number }>;
  ruleLabels: Record<string, string>;
  escalations: { open: number; answered: number };
  medianDaysToAccept?: number;
  medianDaysToFirstContact?: number;
  waiting: { count: number; longestDays?: number };
  statedWaitWeeks: number | null;
  outcomeCompletion: { closed: number; withBothScores: number; share?: number };
}

const days = (value: number | undefined) => (value === undefined ? 'Not enough data yet' : `${value} working days`);

export async function dashboard(context: Context, serviceId: string): Promise<void> {
  const data = await context.api.get<Dashboard>(`/api/tab/services/${encodeURIComponent(serviceId)}/dashboard`);
  heading(context.main, `Dashboard: ${data.service.name}`);
  const open = data.openByStatus.reduce((sum, entry) => sum + entry.count, 0);
  context.main.append(
    h('h2', {}, 'Open referrals by status'),
    open ? barChart('Open referrals by status', data.openByStatus.map((entry) => ({ label: entry.label, value: entry.count }))) : h('p', {}, 'No open referrals.'),
    table('Open referrals by status', ['Status', 'Referrals'], data.openByStatus.map((entry) => [entry.label, entry.count])),
    h('h2', {}, 'Reminder rules broken'),
    table('Referrals that broke each reminder rule', ['Rule', 'Referrals'], data.breaches.map((entry) => [data.ruleLabels[entry.rule] ?? entry.rule, entry.count])),
    h('h2', {}, 'Escalations'),
    h('p', {}, `Waiting for an answer: ${data.escalations.open}. Answered: ${data.escalations.answered}.`),
    h('h2', {}, 'Response times'),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Median time to accept'),
      h('dd', {}, days(data.medianDaysToAccept)),
      h('dt', {}, 'Median time from accepting to first contact'),
      h('dd', {}, days(data.medianDaysToFirstContact)),
      h('dt', {}, 'Waiting to be accepted now'),
      h('dd', {}, `${data.waiting.count}${data.waiting.longestDays !== undefined ? `, the longest for ${data.waiting.longestDays} working days` : ''}`),
      h('dt', {}, 'Stated waiting time'),
      h('dd', {}, data.statedWaitWeeks === null ? 'Not stated' : `${data.statedWaitWeeks} weeks`),
    ),
    h('h2', {}, 'Outcome completion'),
    h(
      'p',
      {},
      data.outcomeCompletion.closed
        ? `${data.outcomeCompletion.withBothScores} of ${data.outcomeCompletion.closed} closed referrals (${Math.round(100 * (data.outcomeCompletion.share ?? 0))}%) have a baseline and a closing wellbeing score.`
        : 'No referrals have closed yet.',
    ),
  );
}

export async function report(context: Context, year: number): Promise<void> {
  const data = await context.api.get<{ year: number; rows: ReportRow[]; services: ServiceRef[]; monthlyMade: Array<{ month: string; made: string; value: number }> }>(`/api/tab/report?year=${year}`);
  heading(context.main, `Borough report ${data.year}`);
  const names = new Map(data.services.map((service) => [service.id, service.name]));
  const download = h('button', { type: 'button', class: 'secondary' }, 'Download CSV');
  download.addEventListener('click', async () => {
    const csv = await context.api.text(`/api/tab/report.csv?year=${year}`);
    const link = h('a', { href: URL.createObjectURL(new Blob([csv], { type: 'text/csv' })), download: `signpost-borough-report-${year}.csv` });
    link.click();
    context.announce('The report has been downloaded as CSV.');
  });
  context.main.append(
    h('p', {}, 'Counts from 1 to 4 are shown as "<5", and averages over fewer than 5 referrals are left blank, so nobody can be identified. "*" hides a count that would let a "<5" be worked out from a total.'),
    h('p', {}, h('a', { href: `#/report/${year - 1}` }, `Previous year (${year - 1})`), ' ', download),
    h('h2', {}, 'Referrals made each month'),
    barChart(`Referrals made each month of ${year}`, data.monthlyMade.map((entry) => ({ label: entry.month, value: entry.value, shown: entry.made }))),
    h('h2', {}, 'By month, service and practice'),
  );
  if (data.rows.length === 0) {
    context.main.append(h('p', {}, `No referrals were made in ${year}.`));
    return;
  }
  context.main.append(
    table(
      `Borough report ${year}`,
      ['Month', 'Service', 'Practice', 'Made', 'Accepted', 'Declined', 'Redirected', 'Closed', 'Median days to accept', 'Median days to first contact', 'SWEMWBS mean change', 'SWEMWBS n', 'Improved by 3+', 'ONS4 life satisfaction change', 'ONS4 anxiety change', 'ONS4 n'],
      data.rows.map((row) => [
        row.month,
        names.get(row.serviceId) ?? row.serviceId,
        row.practice,
        row.made,
        row.accepted,
        row.declined,
        row.redirected,
        row.closed,
        row.medianDaysToAccept,
        row.medianDaysToFirstContact,
        row.swemwbsMeanChange,
        row.swemwbsN,
        row.swemwbsImprovedShare,
        row.ons4MeanChange.lifeSatisfaction,
        row.ons4MeanChange.anxiety,
        row.ons4N,
      ]),
    ),
  );
}

/** A horizontal bar chart as inline SVG, labelled for screen readers (the table beside it has the numbers). */
function barChart(title: string, bars: Array<{ label: string; value: number; shown?: string }>): SVGElement {
  const rowHeight = 28;
  const labelWidth = 200;
  const width = 560;
  const max = Math.max(1, ...bars.map((bar) => bar.value));
  const titleId = nextId('chart');
  return svg(
    'svg',
    { class: 'chart', role: 'img', 'aria-labelledby': titleId, viewBox: `0 0 ${width} ${bars.length * rowHeight + 8}`, width: '100%' },
    svg('title', { id: titleId }, `${title}: ${bars.map((bar) => `${bar.label} ${bar.shown ?? bar.value}`).join(', ')}`),
    bars.map((bar, index) => {
      const y = index * rowHeight + 4;
      const length = ((width - labelWidth - 60) * bar.value) / max;
      return svg(
        'g',
        {},
        svg('text', { x: labelWidth - 8, y: y + 17, 'text-anchor': 'end', class: 'chart-label' }, bar.label),
        svg('rect', { x: labelWidth, y, width: Math.max(0, length), height: rowHeight - 8, class: 'chart-bar' }),
        svg('text', { x: labelWidth + length + 6, y: y + 17, class: 'chart-value' }, bar.shown ?? String(bar.value)),
      );
    }),
  );
}
