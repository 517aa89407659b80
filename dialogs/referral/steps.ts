import type { CardStepDefinition } from '../cardStepPrompt';
import { referralStepCard } from '../../cards/referralCards';
import type { ReferralDraft, StepName } from './draft';
import {
  consentInput,
  needsInput,
  parseStep,
  parsePerson,
  referrerInput,
  safetyInput,
  serviceChoiceInput,
  ReferrerInput,
} from './stepInputs';
import type { MatchView } from '../../bot/referrals/referralService';
import { summarySections } from './summary';

/** What every step's card is rendered from. */
export interface ReferralStepContext {
  draft: ReferralDraft;
  now: string;
  prefill?: Partial<ReferrerInput>;
  matches?: MatchView;
  serviceName?: string;
}

type Definitions = { [S in StepName]: CardStepDefinition<any> };

export function buildReferralSteps(): Definitions {
  const render =
    (step: StepName, extra: (context: ReferralStepContext) => Record<string, unknown> = () => ({})) =>
    (input: { step: string; token: string; data: ReferralStepContext; values: Record<string, unknown>; errors: Record<string, string> }) =>
      referralStepCard(step, { step: input.step, token: input.token, values: input.values, errors: input.errors, ...extra(input.data) });

  return {
    referrer: {
      card: render('referrer'),
      initialValues: (context: ReferralStepContext) => ({ ...context.prefill, ...context.draft.referrer }),
      parse: (submitted) => parseStep(referrerInput, submitted),
    },
    consent: {
      card: render('consent'),
      initialValues: (context: ReferralStepContext) => ({ ...context.draft.consent }),
      parse: (submitted) => parseStep(consentInput, submitted),
    },
    safety: {
      card: render('safety'),
      initialValues: () => ({}),
      parse: (submitted) => parseStep(safetyInput, submitted),
    },
    person: {
      card: render('person'),
      initialValues: (context: ReferralStepContext) => ({ language: 'English', ...context.draft.person }),
      parse: (submitted, context: ReferralStepContext) => parsePerson(submitted, new Date(context.now)),
    },
    needs: {
      card: render('needs'),
      initialValues: (context: ReferralStepContext) => ({
        referralRoute: 'gp',
        gpBorough: 'southwark',
        ...context.draft.needs,
        dischargeFrom: context.draft.needs?.dischargeFrom ?? 'none',
      }),
      parse: (submitted) => parseStep(needsInput, submitted),
    },
    matches: {
      card: render('matches', (context) => ({ ...context.matches })),
      initialValues: (context: ReferralStepContext) => ({
        // The service the referrer started from when the person is eligible for it, else the
        // top-ranked eligible one; a near-miss is never preselected.
        serviceId:
          context.draft.choice?.serviceId ??
          context.matches?.eligible.find((service) => service.serviceId === context.draft.suggestedServiceId)?.serviceId ??
          context.matches?.eligible[0]?.serviceId ??
          '',
      }),
      parse: (submitted, context: ReferralStepContext) => {
        const matches = context.matches;
        const allowed = matches ? matches.choices.map((choice) => choice.value) : [];
        const result = parseStep(serviceChoiceInput(allowed), submitted);
        if (!result.ok) return result;
        const wasNearMiss = Boolean(matches?.nearMiss.some((service) => service.serviceId === result.value.serviceId));
        return { ok: true, value: { serviceId: result.value.serviceId, wasNearMiss } };
      },
    },
    summary: {
      card: render('summary', (context) => ({ sections: summarySections(context.draft, context.serviceName) })),
      initialValues: () => ({}),
      parse: () => ({ ok: true, value: { confirmed: true } }),
    },
  };
}
