import { createHash } from 'node:crypto';
import { z } from 'zod';
import { Borough, DirectoryService, DirectoryValidationError, parseDirectory } from '../domain/directory/schema';
import { Activity, ACTIVITY_CATEGORY_NAMES, ActivitiesValidationError, ActivityCategory, parseActivities, Weekday } from '../domain/directory/activities';
import { BOROUGH_NAMES } from '../domain/directory/names';

/**
 * The directory (services and activities) as Open Referral UK: the UK profile of the Human
 * Services Data Specification (HSDS 3.0) that council and NHS directories share. The file is one
 * page of the profile's `/services` answer (`contents` holds full service objects), checked in
 * the tests against the profile's own schema (vendor/open-referral-uk).
 *
 * What the profile has a place for goes there: name, organisation, description, website, email,
 * status, last checked (`assured_date`), area (`service_areas`), funding, address (a location),
 * and for activities their sessions (`schedules`), venue and access notes (a location and its
 * accessibility), cost (`cost_options`) and categories (`attributes` with taxonomy terms).
 * Everything else Signpost needs and the profile cannot say (eligibility rules, referral routes,
 * waits, supervisors, intake inboxes, sources, maintainers, how to join, the postcode district,
 * phone numbers, notes on missing data) travels in an extension property, `signpost`, on each
 * service: HSDS allows extra properties, and other readers ignore it.
 *
 * Profile ids must be UUIDs: each is derived from the Signpost id (UUID v5), so exporting the
 * same directory twice gives the same file.
 */

export const OPEN_REFERRAL_UK_FORMAT = 'openreferral-uk';
const ACTIVITY_TAXONOMY = 'Signpost activity categories';

export interface Directories {
  services: DirectoryService[];
  activities: Activity[];
}

/** UUID v5 in Signpost's own namespace (RFC 4122 §4.3). */
const NAMESPACE = Buffer.from('4f2b8c1e9a7d4e3b8c5a2d6f1e0b9a37', 'hex');
function stableId(name: string): string {
  const hash = createHash('sha1').update(NAMESPACE).update(name).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const ICAL_DAYS: Record<Weekday, string> = { monday: 'MO', tuesday: 'TU', wednesday: 'WE', thursday: 'TH', friday: 'FR', saturday: 'SA', sunday: 'SU' };
const DAY_OF_ICAL = new Map(Object.entries(ICAL_DAYS).map(([day, code]) => [code, day]));
const BOROUGH_OF_NAME = new Map(Object.entries(BOROUGH_NAMES).map(([borough, name]) => [name, borough as Borough]));

/** A value that may be missing, as the extension keeps its note: `{}` when there is nothing to add. */
function noteOf(field: { value: unknown; note?: string }): Record<string, string> {
  if (field.value === null) return { unavailable: field.note! };
  return field.note ? { note: field.note } : {};
}

function organizationOf(name: string) {
  // The profile requires a description; Signpost holds only the organisation's name.
  return { id: stableId(`organization:${name}`), name, description: name };
}

function commonFields(kind: 'service' | 'activity', entry: { id: string; name: string; organisation: string; description: string; lastVerified: string }, contact: { website: string | null; email: string | null }) {
  const id = stableId(`${kind}:${entry.id}`);
  const organization = organizationOf(entry.organisation);
  return {
    id,
    organization_id: organization.id,
    name: entry.name,
    description: entry.description,
    ...(contact.website ? { url: contact.website } : {}),
    ...(contact.email ? { email: contact.email } : {}),
    assured_date: entry.lastVerified,
    organization,
  } as const;
}

function serviceToOpenReferral(service: DirectoryService): Record<string, unknown> {
  const { id: signpostId, name, organisation, description, status, lastVerified, contact, areaCovered, funding, ...signpostOnly } = service;
  const { website, email, address, ...contactRest } = contact;
  const common = commonFields('service', service, contact);
  const ageRule = service.eligibility?.find((rule) => rule.rule === 'minimumAge');
  const locationId = stableId(`location:service:${signpostId}`);
  return {
    ...common,
    // Open Referral UK's words for Signpost's: paused is "temporarily closed", closed is "inactive".
    status: status === 'open' ? 'active' : status === 'paused' ? 'temporarily closed' : 'inactive',
    ...(ageRule?.rule === 'minimumAge' ? { minimum_age: ageRule.age } : {}),
    service_areas: (areaCovered.value ?? []).map((borough) => ({ id: stableId(`service_area:service:${signpostId}:${borough}`), service_id: common.id, name: BOROUGH_NAMES[borough] })),
    funding: funding.value === null ? [] : [{ id: stableId(`funding:service:${signpostId}`), service_id: common.id, source: funding.value }],
    service_at_locations: address
      ? [{ id: stableId(`service_at_location:service:${signpostId}`), service_id: common.id, location_id: locationId, location: { id: locationId, location_type: 'physical', name: address } }]
      : [],
    signpost: { kind: 'service', id: signpostId, ...signpostOnly, contact: contactRest, areaCovered: noteOf(areaCovered), funding: noteOf(funding) },
  };
}

function activityToOpenReferral(activity: Activity): Record<string, unknown> {
  const common = commonFields('activity', activity, activity.contact);
  const locationId = stableId(`location:activity:${activity.id}`);
  return {
    ...common,
    // A stopped activity is kept (with its history), as Open Referral UK's "inactive".
    status: activity.stopped ? 'inactive' : 'active',
    // Times are local (Europe/London), as the activity publishes them.
    schedules: activity.sessions.map((session, index) => ({
      id: stableId(`schedule:activity:${activity.id}:${index}`),
      service_id: common.id,
      freq: 'WEEKLY',
      byday: session.days.map((day) => ICAL_DAYS[day]).join(','),
      opens_at: session.starts,
      closes_at: session.ends,
      ...(session.note ? { description: session.note } : {}),
    })),
    service_areas: [{ id: stableId(`service_area:activity:${activity.id}`), service_id: common.id, name: BOROUGH_NAMES[activity.place.borough] }],
    service_at_locations: [
      {
        id: stableId(`service_at_location:activity:${activity.id}`),
        service_id: common.id,
        location_id: locationId,
        location: {
          id: locationId,
          location_type: 'physical',
          name: activity.place.venue,
          accessibility: [{ id: stableId(`accessibility:activity:${activity.id}`), location_id: locationId, description: activity.accessNotes }],
        },
      },
    ],
    cost_options: [{ id: stableId(`cost_option:activity:${activity.id}`), service_id: common.id, amount_description: activity.cost }],
    attributes: activity.categories.map((category) => {
      const termId = stableId(`taxonomy_term:${category}`);
      return {
        id: stableId(`attribute:activity:${activity.id}:${category}`),
        link_id: common.id,
        link_type: 'service',
        taxonomy_term_id: termId,
        taxonomy_term: { id: termId, name: category, description: ACTIVITY_CATEGORY_NAMES[category], taxonomy: ACTIVITY_TAXONOMY },
      };
    }),
    signpost: {
      kind: 'activity',
      id: activity.id,
      postcodeDistrict: activity.place.postcodeDistrict,
      howToJoin: activity.howToJoin,
      phone: activity.contact.phone,
      maintainers: activity.maintainers,
      illustrative: activity.illustrative,
    },
  };
}

/** The whole directory as one page of the profile's `/services` answer. */
export function toOpenReferralUk(directories: Directories): Record<string, unknown> {
  const contents = [...directories.services.map(serviceToOpenReferral), ...directories.activities.map(activityToOpenReferral)];
  return { total_items: contents.length, total_pages: 1, page_number: 1, size: contents.length, first_page: true, last_page: true, empty: contents.length === 0, contents };
}

/** What the import reads of the profile (the rest of a service object is ignored). */
const text = z.string().min(1);
const openReferralServiceSchema = z.object({
  name: text,
  description: text,
  url: text.optional(),
  email: text.optional(),
  status: z.enum(['active', 'inactive', 'defunct', 'temporarily closed']),
  assured_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD'),
  organization: z.object({ name: text }),
  service_areas: z.array(z.object({ name: z.string().refine((name) => BOROUGH_OF_NAME.has(name), 'not a borough Signpost knows') })).default([]),
  funding: z.array(z.object({ source: text })).max(1, 'Signpost holds one funding source').default([]),
  schedules: z
    .array(
      z.object({
        freq: z.literal('WEEKLY', { errorMap: () => ({ message: 'Signpost holds weekly sessions only' }) }),
        byday: z.string().refine((days) => days.split(',').every((day) => DAY_OF_ICAL.has(day)), 'days as MO,TU,...'),
        opens_at: text,
        closes_at: text,
        description: text.optional(),
      }),
    )
    .default([]),
  service_at_locations: z
    .array(z.object({ location: z.object({ name: text, accessibility: z.array(z.object({ description: text })).max(1).default([]) }) }))
    .max(1, 'Signpost holds one place per entry')
    .default([]),
  cost_options: z.array(z.object({ amount_description: text })).max(1, 'Signpost holds one cost per activity').default([]),
  attributes: z.array(z.object({ taxonomy_term: z.object({ name: text, taxonomy: z.string().optional() }) })).default([]),
  // The rest of the extension is checked by the Signpost schema of the entry it makes.
  signpost: z.object({ kind: z.enum(['service', 'activity']), id: z.string() }).passthrough(),
});
const pageSchema = z.object({ contents: z.array(z.unknown()) });

export class OpenReferralImportError extends Error {
  constructor(readonly problems: string[]) {
    super(`The Open Referral UK file cannot be imported:\n${problems.map((problem) => `- ${problem}`).join('\n')}`);
  }
}

/**
 * Reads an export back into Signpost's directories: all or nothing. Every problem is named
 * (the entry by position and name, then the field), the profile's fields first, then what the
 * Signpost schemas say about the entries they make.
 */
export function fromOpenReferralUk(input: unknown): Directories {
  const page = pageSchema.safeParse(input);
  if (!page.success) throw new OpenReferralImportError(['(file): not an Open Referral UK page of services (no "contents" list)']);
  const problems: string[] = [];
  const services: unknown[] = [];
  const activities: unknown[] = [];
  page.data.contents.forEach((raw, index) => {
    const label = `entry #${index + 1}${typeof (raw as { name?: unknown })?.name === 'string' ? ` ("${(raw as { name: string }).name}")` : ''}`;
    if (!(raw as { signpost?: unknown } | null)?.signpost) {
      problems.push(`${label}: signpost: missing; Signpost imports only entries it exported (it cannot guess eligibility rules or referral routes for others)`);
      return;
    }
    const parsed = openReferralServiceSchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(`${label}: ${issue.path.join('.') || '(entry)'}: ${issue.message}`);
      return;
    }
    const entry = parsed.data;
    if (entry.signpost.kind === 'service') {
      if (entry.status === 'defunct') problems.push(`${label}: status: Signpost holds open ("active"), paused ("temporarily closed") or closed ("inactive") services, not defunct ones`);
      else services.push(serviceFrom(entry));
    } else {
      if (entry.status !== 'active' && entry.status !== 'inactive') problems.push(`${label}: status: Signpost holds running ("active") or stopped ("inactive") activities`);
      else activities.push(activityFrom(entry));
    }
  });
  // Each directory's own schema then checks what the entries make, naming the Signpost field.
  const checked: Partial<Directories> = {};
  try {
    checked.services = parseDirectory({ version: 1, services });
  } catch (error) {
    if (!(error instanceof DirectoryValidationError)) throw error;
    problems.push(...error.problems);
  }
  try {
    checked.activities = parseActivities({ version: 1, activities });
  } catch (error) {
    if (!(error instanceof ActivitiesValidationError)) throw error;
    problems.push(...error.problems);
  }
  if (problems.length) throw new OpenReferralImportError(problems);
  return checked as Directories;
}

type OpenReferralService = z.infer<typeof openReferralServiceSchema>;

/** A nullable-with-note field back from the profile's value and the extension's note. */
function withNote<T>(value: T | null, note: unknown): { value: T | null; note?: string } {
  const kept = (note ?? {}) as { unavailable?: string; note?: string };
  if (value === null || kept.unavailable !== undefined) return { value: null, note: kept.unavailable ?? '' };
  return kept.note ? { value, note: kept.note } : { value };
}

function serviceFrom(entry: OpenReferralService): Record<string, unknown> {
  const { kind: _kind, id, contact, areaCovered, funding, ...signpostOnly } = entry.signpost as Record<string, unknown>;
  const boroughs = entry.service_areas.map((area) => BOROUGH_OF_NAME.get(area.name)!);
  return {
    id,
    name: entry.name,
    organisation: entry.organization.name,
    description: entry.description,
    ...signpostOnly,
    status: entry.status === 'active' ? 'open' : entry.status === 'inactive' ? 'closed' : 'paused',
    lastVerified: entry.assured_date,
    contact: {
      address: entry.service_at_locations[0]?.location.name ?? null,
      email: entry.email ?? null,
      website: entry.url ?? null,
      ...(contact as object),
    },
    areaCovered: withNote(boroughs.length ? boroughs : null, areaCovered),
    funding: withNote(entry.funding[0]?.source ?? null, funding),
  };
}

function activityFrom(entry: OpenReferralService): Record<string, unknown> {
  const extension = entry.signpost as Record<string, unknown>;
  const location = entry.service_at_locations[0]?.location;
  return {
    id: extension.id,
    name: entry.name,
    organisation: entry.organization.name,
    description: entry.description,
    categories: entry.attributes.filter((attribute) => attribute.taxonomy_term.taxonomy === ACTIVITY_TAXONOMY).map((attribute) => attribute.taxonomy_term.name as ActivityCategory),
    sessions: entry.schedules.map((schedule) => ({
      days: schedule.byday.split(',').map((day) => DAY_OF_ICAL.get(day)),
      starts: schedule.opens_at,
      ends: schedule.closes_at,
      ...(schedule.description ? { note: schedule.description } : {}),
    })),
    place: { venue: location?.name, postcodeDistrict: extension.postcodeDistrict, borough: entry.service_areas[0] ? BOROUGH_OF_NAME.get(entry.service_areas[0].name) : undefined },
    cost: entry.cost_options[0]?.amount_description,
    accessNotes: location?.accessibility[0]?.description,
    howToJoin: extension.howToJoin,
    contact: { phone: extension.phone ?? null, email: entry.email ?? null, website: entry.url ?? null },
    maintainers: extension.maintainers,
    lastVerified: entry.assured_date,
    illustrative: extension.illustrative,
    ...(entry.status === 'inactive' ? { stopped: true } : {}),
  };
}
