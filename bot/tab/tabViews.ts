import type { AuditEvent, Referral } from '../../domain/referral/referral';
import { initials, routedAt } from '../../domain/referral/referral';
import { caseState, CLOSE_REASONS, DECLINE_REASONS, isOpenStatus, permittedVerbs, PROGRESS_STATUSES, REASON_WORDS, STATUS_LABELS } from '../../domain/referral/lifecycle';
import { supervisionSettings } from '../../domain/supervision/policy';
import { caseHistory, isOverdue, REMINDER_RULE_LABELS } from '../../domain/reports/caseHistory';
import { serviceDashboard, ServiceDashboard } from '../../domain/reports/serviceDashboard';
import { monthlyMade, publishedRows, ReportRow, reportCsv, sumRows } from '../../domain/reports/boroughReport';
import { serviceReferralFacts } from '../../cards/serviceReferralCard';
import type { ReferralRepository } from '../../storage/referralRepository';
import type { ServiceQueueRepository } from '../../storage/serviceQueueRepository';
import type { DirectoryRepository } from '../../storage/directoryRepository';
import type { ServiceChannelRepository } from '../../storage/serviceChannelRepository';
import type { ReferrerRepository } from '../../storage/referrerRepository';
import type { ContactRepository } from '../../storage/contactRepository';
import type { LinkWorkerRoster } from '../channels/roster';
import type { Supervision } from '../supervision/supervision';
import type { ActionOutcome, ReferralActions, RequestedAction } from '../referrals/referralActions';
import type { Logger } from '../app/log';
import type { TabUser } from './tabPeople';
import type { ReportTotals } from '../reports/reportTotals';

/**
 * What the tab shows each person, decided on the server from what Signpost already knows:
 * referrers see their own referrals, a service's link workers its caseload, supervisors their
 * service's dashboard, commissioners and admins the borough report (aggregates only). Every
 * change goes through the application layer (ReferralActions.act), as from a card.
 */

export class TabRefusal extends Error {
  constructor(
    readonly status: 403 | 404,
    message: string,
  ) {
    super(message);
  }
}

export interface TabDependencies {
  referrals: ReferralRepository;
  queue: ServiceQueueRepository;
  directory: DirectoryRepository;
  channelLinks: ServiceChannelRepository;
  referrers: ReferrerRepository;
  contacts: ContactRepository;
  roster: LinkWorkerRoster;
  supervision: Supervision;
  actions: ReferralActions;
  reportTotals: ReportTotals;
  /** SIGNPOST_COMMISSIONERS: sign-in emails, lower case. */
  commissioners: string[];
  logger: Logger;
  now: () => Date;
}

export interface ServiceRef {
  id: string;
  name: string;
}

export interface TabRoles {
  name: string;
  linkWorkerOf: ServiceRef[];
  supervisorOf: ServiceRef[];
  /** Commissioners and admins: the borough report. */
  boroughReport: boolean;
}

export const CASELOAD_FILTERS = ['all', 'mine', 'unassigned', 'overdue'] as const;
export type CaseloadFilter = (typeof CASELOAD_FILTERS)[number];

const DAY_MS = 24 * 60 * 60 * 1000;
const NOT_FOUND = 'There is no referral here for you.';
/** Audit actions a referrer's timeline shows: the changes of status and owner. */
const TIMELINE_ACTIONS = new Set(['referral.submitted', 'referral.accept', 'referral.assign', 'referral.decline', 'referral.redirect', 'referral.update', 'referral.close', 'escalation.take-over']);

export class TabViews {
  constructor(private readonly deps: TabDependencies) {}

  async roles(user: TabUser): Promise<TabRoles> {
    const [linkWorkerOf, supervisorOf] = await Promise.all([this.linkWorkerServices(user), this.supervisedServices(user)]);
    return { name: user.name, linkWorkerOf, supervisorOf, boroughReport: this.mayReadBoroughReport(user) };
  }

  /** The referrer's own referrals, newest first, by reference and initials with their timelines. */
  async myReferrals(user: TabUser) {
    const teamsUserId = await this.referrerTeamsId(user);
    if (!teamsUserId) return { referrals: [] };
    const [referrals, names] = await Promise.all([this.deps.referrals.listForReferrer(teamsUserId), this.serviceNames()]);
    const withTimelines = await Promise.all(
      referrals.map(async (referral) => ({ ...this.summary(referral, names), timeline: timeline(await this.deps.referrals.audit(referral.id)) })),
    );
    return { referrals: withTimelines };
  }

  /** A service's open referrals, for its link workers only. */
  async caseload(user: TabUser, serviceId: string, filter: CaseloadFilter) {
    const me = await this.linkWorker(user, serviceId);
    if (!me) throw new TabRefusal(403, 'Only the link workers of this service can see its caseload.');
    const [entries, service] = await Promise.all([this.deps.queue.list(serviceId), this.deps.directory.get(serviceId)]);
    const settings = supervisionSettings(service);
    const now = this.deps.now();
    const referrals = await Promise.all(entries.filter((entry) => isOpenStatus(entry.status)).map((entry) => this.deps.referrals.get(entry.referralId)));
    const names = new Map([[serviceId, service?.name ?? serviceId]]);
    const cases = referrals
      .map((stored) => stored?.referral)
      .filter((referral): referral is Referral => referral !== undefined && referral.serviceId === serviceId && isOpenStatus(referral.status))
      .map((referral) => ({
        ...this.summary(referral, names),
        owner: referral.owner?.name,
        mine: referral.owner?.id === me.id,
        daysSinceUpdate: Math.floor((now.getTime() - Date.parse(referral.updatedAt)) / DAY_MS),
        overdue: isOverdue(referral.status, { serviceId, routedAt: routedAt(referral), acceptedAt: referral.acceptedAt }, settings, this.deps.supervision.calendar, now),
      }));
    const shown = cases.filter((item) => filter === 'all' || (filter === 'mine' ? item.mine : filter === 'unassigned' ? !item.owner : item.overdue));
    return { service: { id: serviceId, name: service?.name ?? serviceId }, filter, referrals: shown };
  }

  /** One referral: the card's facts and permitted actions for its service's link workers, the timeline for its referrer; otherwise nothing. */
  async referral(user: TabUser, referralId: string) {
    const referral = await this.deps.actions.current(referralId);
    if (!referral) throw new TabRefusal(404, NOT_FOUND);
    const names = await this.serviceNames();
    const me = await this.linkWorker(user, referral.serviceId);
    const audit = await this.deps.referrals.audit(referral.id);
    if (me) {
      const members = await this.deps.roster.members(referral.serviceId);
      return {
        view: 'service' as const,
        ...this.summary(referral, names),
        owner: referral.owner?.name,
        facts: serviceReferralFacts(referral),
        whatMatters: referral.whatMatters,
        reasons: referral.match.reasons,
        history: timeline(audit),
        may: permittedVerbs(caseState(referral), { id: me.id, isLinkWorker: true }).filter((verb) => TAB_VERBS.has(verb)),
        choices: {
          assignees: members.map((member) => ({ value: member.id, label: member.name })),
          progress: PROGRESS_STATUSES.map((status) => ({ value: status, label: STATUS_LABELS[status] })),
          declineReasons: DECLINE_REASONS.map((reason) => ({ value: reason, label: REASON_WORDS[reason].choice })),
          closeReasons: CLOSE_REASONS.map((reason) => ({ value: reason, label: REASON_WORDS[reason].choice })),
        },
      };
    }
    if (await this.isReferrerOf(user, referral)) return { view: 'referrer' as const, ...this.summary(referral, names), timeline: timeline(audit) };
    // Not theirs: the same answer as no referral at all, so nobody learns that it exists.
    throw new TabRefusal(404, NOT_FOUND);
  }

  /** Acts on a referral through the application layer, as the person signed in to the tab. */
  async act(user: TabUser, referralId: string, version: number, requested: RequestedAction): Promise<{ kind: ActionOutcome['kind']; notice: string; version?: number }> {
    const outcome = await this.deps.actions.act(
      { id: user.teamsUserId ?? user.id, name: user.name, email: user.email, aadObjectId: user.aadObjectId, identifiedBy: 'tab' },
      referralId,
      version,
      requested,
    );
    if (outcome.kind === 'not-found' || outcome.kind === 'contact-details') throw new TabRefusal(404, NOT_FOUND);
    // Someone who may not act learns nothing of the referral from the answer, not even that it is stale.
    if (outcome.kind !== 'changed' && !(await this.linkWorker(user, outcome.referral.serviceId))) throw new TabRefusal(404, NOT_FOUND);
    return { kind: outcome.kind, notice: outcome.notice, version: outcome.referral.version };
  }

  async dashboard(user: TabUser, serviceId: string): Promise<ServiceDashboard & { service: ServiceRef; ruleLabels: typeof REMINDER_RULE_LABELS; statedWaitWeeks: number | null }> {
    const service = await this.deps.directory.get(serviceId);
    if (!service || !(await this.supervises(user, serviceId))) throw new TabRefusal(403, 'Only the supervisors of this service can see its dashboard.');
    const entries = await this.deps.queue.list(serviceId);
    const cases = (
      await Promise.all(
        entries.map(async (entry) => {
          const stored = await this.deps.referrals.get(entry.referralId);
          return stored ? { referral: stored.referral, history: caseHistory(stored.referral, await this.deps.referrals.audit(entry.referralId)) } : undefined;
        }),
      )
    ).filter((found) => found !== undefined);
    const dashboard = serviceDashboard(serviceId, cases, supervisionSettings(service), this.deps.supervision.calendar, this.deps.now());
    return { ...dashboard, service: { id: service.id, name: service.name }, ruleLabels: REMINDER_RULE_LABELS, statedWaitWeeks: service.waitingTimeWeeks.value };
  }

  /**
   * The borough report for a year, rows by month x service x practice, small numbers suppressed.
   * Read from the running totals (12 partitions of counter rows), never from the referrals.
   */
  async boroughReport(user: TabUser, year: number): Promise<{ year: number; rows: ReportRow[]; services: ServiceRef[]; monthlyMade: ReturnType<typeof monthlyMade> }> {
    if (!this.mayReadBoroughReport(user)) throw new TabRefusal(403, 'Only commissioners and Signpost admins can see the borough report.');
    const [counted, directory] = await Promise.all([this.deps.reportTotals.year(year), this.deps.directory.list()]);
    const summed = [...sumRows(counted).values()];
    const rows = publishedRows(
      summed
        .filter((row) => row.counters.made > 0 || row.counters.accepted > 0 || Object.keys(row.counters.declined).length > 0 || row.counters.redirected > 0)
        .sort((a, b) => a.key.month.localeCompare(b.key.month) || a.key.serviceId.localeCompare(b.key.serviceId) || a.key.practice.localeCompare(b.key.practice)),
    );
    const services = directory.map((service) => ({ id: service.id, name: service.name }));
    return { year, rows, services, monthlyMade: monthlyMade(summed, year) };
  }

  /** The borough report's rows as a CSV download, for the same people; written only when downloaded. */
  async boroughReportCsv(user: TabUser, year: number): Promise<{ year: number; csv: string }> {
    const { rows } = await this.boroughReport(user, year);
    return { year, csv: reportCsv(rows, DECLINE_REASONS, CLOSE_REASONS) };
  }

  private summary(referral: Referral, names: Map<string, string>) {
    return {
      id: referral.id,
      reference: referral.reference,
      initials: referral.person ? initials(referral.person) : 'details removed',
      service: names.get(referral.serviceId) ?? referral.serviceId,
      status: referral.status,
      statusLabel: STATUS_LABELS[referral.status],
      version: referral.version,
      createdAt: referral.createdAt,
      updatedAt: referral.updatedAt,
    };
  }

  private async serviceNames(): Promise<Map<string, string>> {
    return new Map((await this.deps.directory.list()).map((service) => [service.id, service.name]));
  }

  private mayReadBoroughReport(user: TabUser): boolean {
    return (user.email !== undefined && this.deps.commissioners.includes(user.email)) || this.isAdmin(user);
  }

  private isAdmin(user: TabUser): boolean {
    return this.deps.supervision.isAdmin({ teamsUserId: user.teamsUserId ?? user.id, aadObjectId: user.aadObjectId, email: user.email });
  }

  private async supervises(user: TabUser, serviceId: string): Promise<boolean> {
    return this.isAdmin(user) || this.deps.supervision.isSupervisor(serviceId, { teamsUserId: user.teamsUserId ?? user.id, email: user.email });
  }

  /** The person as a link worker of the service (their roster entry), or undefined. */
  private async linkWorker(user: TabUser, serviceId: string): Promise<{ id: string; name: string } | undefined> {
    try {
      return await this.deps.roster.signedInMember(serviceId, { aadObjectId: user.aadObjectId, email: user.email });
    } catch (error) {
      // A roster Teams cannot give now grants nothing; the person can try again.
      this.deps.logger.warn('tab-roster-unavailable', { serviceId, errorName: (error as Error).name });
      return undefined;
    }
  }

  private async linkWorkerServices(user: TabUser): Promise<ServiceRef[]> {
    const [links, names] = await Promise.all([this.deps.channelLinks.list(), this.serviceNames()]);
    const found = await Promise.all(links.map(async (link) => ((await this.linkWorker(user, link.serviceId)) ? link.serviceId : undefined)));
    return found.filter((id): id is string => id !== undefined).map((id) => ({ id, name: names.get(id) ?? id }));
  }

  private async supervisedServices(user: TabUser): Promise<ServiceRef[]> {
    const services = await this.deps.directory.list();
    const supervised = await Promise.all(services.map(async (service) => ((await this.supervises(user, service.id)) ? service : undefined)));
    return supervised.filter((service) => service !== undefined).map((service) => ({ id: service.id, name: service.name }));
  }

  private async referrerTeamsId(user: TabUser): Promise<string | undefined> {
    if (user.teamsUserId) return user.teamsUserId;
    if (!user.email) return undefined;
    return (await this.deps.contacts.byEmail(user.email))?.teamsUserId ?? (await this.deps.referrers.teamsIdByEmail(user.email));
  }

  private async isReferrerOf(user: TabUser, referral: Referral): Promise<boolean> {
    const referrer = referral.referrer;
    if (user.teamsUserId && referrer.teamsUserId === user.teamsUserId) return true;
    if (user.aadObjectId && referrer.aadObjectId?.toLowerCase() === user.aadObjectId) return true;
    return (await this.referrerTeamsId(user)) === referrer.teamsUserId;
  }
}

/** The verbs the tab offers (the rest stay on the card: redirect, outcome scores, escalation, contact details). */
const TAB_VERBS: ReadonlySet<string> = new Set(['accept', 'assign', 'update', 'decline', 'close']);

function timeline(audit: AuditEvent[]): Array<{ at: string; what: string }> {
  return audit
    .filter((event) => TIMELINE_ACTIONS.has(event.action))
    .map((event) => ({ at: event.at, what: typeof event.detail.summary === 'string' ? event.detail.summary : event.action }));
}
