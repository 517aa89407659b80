/**
 * SNOMED CT codes the GP practice records for social prescribing.
 *
 * Source: NHS England, "Social prescribing: frequently asked questions" (coding section), and
 * the PRSB Social Prescribing Information Standard, which both list these concepts:
 * - 871731000000106 |Referral to social prescribing service (procedure)|: record when the
 *   person accepts referral to the social prescribing link worker;
 * - 871711000000103 |Social prescribing declined (situation)|: record when they decline.
 */
export interface SnomedCode {
  code: string;
  term: string;
  /** When the practice should record it. */
  when: string;
}

export const SNOMED_REFERRAL_TO_SOCIAL_PRESCRIBING: SnomedCode = {
  code: '871731000000106',
  term: 'Referral to social prescribing service (procedure)',
  when: 'The person accepted referral to a social prescribing link worker.',
};

export const SNOMED_SOCIAL_PRESCRIBING_DECLINED: SnomedCode = {
  code: '871711000000103',
  term: 'Social prescribing declined (situation)',
  when: 'The person declined social prescribing.',
};
