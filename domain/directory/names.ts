import type { Borough, Hospital, MentalHealthLevel, ReferralRoute } from './schema';

/** How the directory's codes read in a sentence (reasons, summaries, cards). */
export const BOROUGH_NAMES: Record<Borough, string> = {
  southwark: 'Southwark',
  lambeth: 'Lambeth',
  lewisham: 'Lewisham',
  croydon: 'Croydon',
  other: 'another borough',
};

export const ROUTE_NAMES: Record<ReferralRoute, string> = {
  gp: 'GP practice / primary care',
  self: 'self-referral',
  hospital: 'hospital',
  'social-services': 'social services',
  iapt: 'Talking Therapies (IAPT)',
  'mental-health-services': 'mental health services',
  school: 'school',
  vcs: 'voluntary and community sector',
  pharmacy: 'pharmacy',
  'other-social-prescribing': 'another social prescribing service',
};

export const HOSPITAL_NAMES: Record<Hospital, string> = {
  'kings-college-hospital': "King's College Hospital",
  'guys-and-st-thomas': "Guy's and St Thomas'",
};

export const MENTAL_HEALTH_NAMES: Record<MentalHealthLevel, string> = {
  none: 'none known',
  'mild-moderate': 'mild to moderate',
  'low-medium': 'low to medium',
  high: 'high',
};

/** For a name that starts a line or a table cell. */
export function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
