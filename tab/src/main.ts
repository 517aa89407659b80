import { app, authentication, pages } from '@microsoft/teams-js';
import { ApiError, Credentials, SignpostApi } from './api';
import { h, nextId, show } from './dom';
import * as views from './views';

/**
 * The Signpost tab. In Teams it initialises teams-js and signs the person in with Teams single
 * sign-on; in local mode (no Entra app) it offers the Agents Playground's people instead, under
 * a banner that says so. Views are addressed by the URL's hash, so Back works.
 */

const meta = (name: string) => document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? '';
const main = document.getElementById('main')!;
const nav = document.getElementById('nav')!;
const status = document.getElementById('status')!;
const LOCAL_PERSON_KEY = 'signpost-local-person';

function announce(message: string): void {
  status.textContent = '';
  // A fresh text node is announced even when the message repeats.
  window.setTimeout(() => (status.textContent = message), 50);
}

async function start(): Promise<void> {
  const serviceFromUrl = new URLSearchParams(location.search).get('serviceId') ?? undefined;
  if (meta('signpost-mode') === 'local') {
    await startLocal(serviceFromUrl);
    return;
  }
  await app.initialize();
  if (meta('signpost-page') === 'config') {
    await configure();
    return;
  }
  app.notifySuccess();
  await run({ kind: 'teams', token: () => authentication.getAuthToken() }, serviceFromUrl);
}

async function startLocal(serviceFromUrl: string | undefined): Promise<void> {
  show(
    document.getElementById('banner')!,
    h('div', { class: 'banner', role: 'note' }, h('strong', {}, 'Local mode. '), 'Nobody is signed in: you choose which made-up playground person to be. Never use local mode with real people’s details.'),
  );
  const chosen = sessionStorage.getItem(LOCAL_PERSON_KEY);
  if (chosen) {
    await run({ kind: 'local', personId: chosen }, serviceFromUrl);
    return;
  }
  const { people } = (await (await fetch('/api/tab/people')).json()) as { people: Array<{ id: string; name: string }> };
  const selectId = nextId('person');
  const select = h('select', { id: selectId, name: 'person' }, people.map((person) => h('option', { value: person.id }, person.name)));
  const form = h(
    'form',
    {
      class: 'action',
      onsubmit: (event: Event) => {
        event.preventDefault();
        sessionStorage.setItem(LOCAL_PERSON_KEY, select.value);
        void run({ kind: 'local', personId: select.value }, serviceFromUrl);
      },
    },
    h('div', { class: 'field' }, h('label', { for: selectId }, 'Who are you?'), select),
    h('button', { type: 'submit' }, 'Continue'),
  );
  show(main, h('h1', {}, 'Choose a playground person'), form);
  document.title = 'Choose a playground person - Signpost';
}

/** The configurable tab's settings page: which linked service this channel's tab shows. */
async function configure(): Promise<void> {
  const credentials: Credentials = { kind: 'teams', token: () => authentication.getAuthToken() };
  const roles = await new SignpostApi(credentials).get<views.Roles>('/api/tab/me');
  const services = [...roles.linkWorkerOf, ...roles.supervisorOf.filter((service) => !roles.linkWorkerOf.some((mine) => mine.id === service.id))];
  const selectId = nextId('service');
  const select = h('select', { id: selectId }, services.map((service) => h('option', { value: service.id }, service.name)));
  show(
    main,
    h('h1', {}, 'Add Signpost to this channel'),
    services.length
      ? h('div', { class: 'field' }, h('label', { for: selectId }, 'Which service does this channel serve?'), select)
      : h('p', {}, 'You are not a link worker or supervisor of a service in Signpost, so there is nothing to show here yet.'),
  );
  pages.config.registerOnSaveHandler((save) => {
    const service = services.find((candidate) => candidate.id === select.value);
    if (!service) {
      save.notifyFailure('Choose a service');
      return;
    }
    void pages.config
      .setConfig({
        entityId: `signpost-${service.id}`,
        contentUrl: `${location.origin}/tab?serviceId=${encodeURIComponent(service.id)}`,
        suggestedDisplayName: `Signpost: ${service.name}`,
        websiteUrl: `${location.origin}/tab?serviceId=${encodeURIComponent(service.id)}`,
      })
      .then(() => save.notifySuccess());
  });
  pages.config.setValidityState(services.length > 0);
}

async function run(credentials: Credentials, serviceFromUrl: string | undefined): Promise<void> {
  const api = new SignpostApi(credentials);
  const context: views.Context = { api, main, announce };
  const roles = await api.get<views.Roles>('/api/tab/me');
  const links: Array<[string, string]> = [['#/my-referrals', 'My referrals']];
  for (const service of roles.linkWorkerOf) links.push([`#/caseload/${service.id}/all`, `Caseload: ${service.name}`]);
  for (const service of roles.supervisorOf) links.push([`#/dashboard/${service.id}`, `Dashboard: ${service.name}`]);
  if (roles.boroughReport) links.push([`#/report/${new Date().getFullYear()}`, 'Borough report']);
  if (credentials.kind === 'local') links.push(['#/switch', 'Choose another person']);
  show(nav, h('ul', {}, links.map(([href, label]) => h('li', {}, h('a', { href }, label)))));

  const route = async () => {
    const [, view, first, second] = location.hash.split('/');
    for (const link of nav.querySelectorAll('a')) {
      if (link.getAttribute('href') === location.hash) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    try {
      if (view === 'switch') {
        sessionStorage.removeItem(LOCAL_PERSON_KEY);
        location.hash = '';
        location.reload();
      } else if (view === 'caseload' && first) await views.caseload(context, first, second ?? 'all');
      else if (view === 'referral' && first) await views.referral(context, first);
      else if (view === 'dashboard' && first) await views.dashboard(context, first);
      else if (view === 'report') await views.report(context, Number(first) || new Date().getFullYear());
      else await views.myReferrals(context);
      main.querySelector<HTMLElement>('h1')?.focus();
    } catch (error) {
      const message = error instanceof ApiError ? error.message : 'Signpost could not be reached. Please try again.';
      show(main, h('h1', { tabindex: -1 }, 'Sorry'), h('p', {}, message));
    }
  };
  window.addEventListener('hashchange', () => void route());
  // A channel's tab opens on its service: the caseload for its link workers, else the dashboard.
  if (!location.hash && serviceFromUrl) {
    const home = roles.linkWorkerOf.some((service) => service.id === serviceFromUrl) ? `#/caseload/${serviceFromUrl}/all` : `#/dashboard/${serviceFromUrl}`;
    location.hash = home;
    return;
  }
  if (!location.hash && roles.linkWorkerOf.length === 1) {
    location.hash = `#/caseload/${roles.linkWorkerOf[0].id}/all`;
    return;
  }
  await route();
}

start().catch((error: unknown) => {
  show(main, h('h1', {}, 'Signpost could not start'), h('p', {}, error instanceof Error ? error.message : 'Please reload the tab.'));
});
