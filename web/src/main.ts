/** The lilnet browser application: sign-in, the case list, and the case page (upload, jobs, viewer, diagnosis). */
import type { DiagnosisReport } from '../../src/diagnose/report-types.ts';
import {
  ApiError,
  fetchReport,
  onSessionEnded,
  request,
  setCsrfToken,
  uploadFiles,
  type CaseDetail,
  type CaseSummary,
  type Job,
  type User,
} from './api.ts';
import { renderDiagnosisPanel } from './diagnosis-panel.ts';
import { h, percent } from './dom.ts';
import { en } from './i18n/en.ts';
import {
  LANGUAGES,
  language,
  onLanguageChange,
  setLanguage,
  t,
  type Language,
  type MessageKey,
} from './i18n/i18n.ts';
import { SliceViewer } from './viewer.ts';

const PHASE_CHOICES = ['AP', 'PVP', 'NC', 'DP', 'unknown'];
const POLL_INTERVAL_MS = 700;

interface CasePageState {
  detail: CaseDetail;
  viewer: SliceViewer;
  viewerSeriesKey: string;
  report: DiagnosisReport | null;
  /** The last upload or job message, rendered in the current language. */
  uploadMessage: () => string;
  pollTimer: number | null;
}

let user: User | null = null;
/** The phase chosen in the last upload form, offered again for the next upload. */
let lastPhase = 'PVP';
let page: CasePageState | null = null;
const root = document.getElementById('app')!;

/** Returns an error for the user: the summary of its API error code in the current language, then the server's message. */
function errorText(error: unknown): string {
  if (!(error instanceof ApiError)) return String((error as Error)?.message ?? error);
  const key = `errorCode.${error.code}`;
  const summary = key in en ? t(key as MessageKey) : '';
  return summary ? t('error.withDetail', { summary, detail: error.message }) : error.message;
}

function header(): HTMLElement {
  const select = h(
    'select',
    { 'data-testid': 'language-select', 'aria-label': t('app.language') },
    ...LANGUAGES.map((l) => h('option', { value: l.code, selected: l.code === language() }, l.name)),
  );
  select.addEventListener('change', () => setLanguage(select.value as Language));
  return h(
    'header',
    {},
    h('h1', {}, t('app.title')),
    h(
      'div',
      { class: 'header-tools' },
      select,
      user ? h('span', {}, t('app.signedInAs', { name: user.name })) : null,
      user
        ? h(
            'button',
            { type: 'button', 'data-testid': 'sign-out', onclick: () => void signOut() },
            t('app.signOut'),
          )
        : null,
    ),
  );
}

function show(...content: (Node | null)[]): void {
  root.replaceChildren(header(), h('main', {}, ...content));
}

function renderLogin(message = '', previousName = ''): void {
  const name = h('input', {
    name: 'name',
    autocomplete: 'username',
    required: true,
    value: previousName,
    'data-testid': 'login-name',
  });
  const password = h('input', {
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    'data-testid': 'login-password',
  });
  const form = h(
    'form',
    { class: 'login' },
    h('h2', {}, t('login.title')),
    h('label', {}, t('login.name'), name),
    h('label', {}, t('login.password'), password),
    h('button', { type: 'submit', 'data-testid': 'login-submit' }, t('login.submit')),
    message ? h('p', { class: 'error', role: 'alert' }, message) : null,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    request<{ user: User; csrfToken: string }>('POST', '/api/auth/login', {
      name: name.value,
      password: password.value,
    }).then(
      (session) => {
        user = session.user;
        setCsrfToken(session.csrfToken);
        route();
      },
      (error: unknown) => renderLogin(t('login.failed', { message: errorText(error) }), name.value),
    );
  });
  show(form);
}

async function signOut(): Promise<void> {
  await request('POST', '/api/auth/logout').catch(() => undefined);
  user = null;
  location.hash = '';
  renderLogin();
}

const STAGES = [
  'starting',
  'ingest',
  'read-case',
  'load-models',
  'detect',
  'match',
  'classify',
  'report',
  'done',
];

function jobText(job: Pick<Job, 'kind' | 'status' | 'stage' | 'progress'>): string {
  const stage =
    job.stage && STAGES.includes(job.stage) ? t(`stage.${job.stage}` as MessageKey) : (job.stage ?? '');
  return t('job.progress', {
    kind: t(`job.kind.${job.kind}` as MessageKey),
    status: t(`job.status.${job.status}` as MessageKey),
    stage,
    percent: percent(job.progress),
  });
}

async function renderCaseList(message = ''): Promise<void> {
  stopPolling();
  page = null;
  let cases: CaseSummary[];
  try {
    cases = (await request<{ cases: CaseSummary[] }>('GET', '/api/cases')).cases;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return renderLogin();
    cases = [];
    message = t('error.generic', { message: errorText(error) });
  }
  const label = h('input', { name: 'label', required: true, maxlength: 120, 'data-testid': 'case-label' });
  const form = h(
    'form',
    { class: 'new-case' },
    h('label', {}, t('cases.label'), label),
    h('small', {}, t('cases.labelHint')),
    h('button', { type: 'submit', 'data-testid': 'create-case' }, t('cases.create')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    request<CaseSummary>('POST', '/api/cases', { label: label.value }).then(
      (created) => (location.hash = `#/cases/${created.id}`),
      (error: unknown) => void renderCaseList(t('error.generic', { message: errorText(error) })),
    );
  });
  const rows = cases.map((c) =>
    h(
      'tr',
      { 'data-testid': 'case-row' },
      h('td', {}, h('a', { href: `#/cases/${c.id}` }, c.label)),
      h('td', {}, new Date(c.createdAt).toLocaleString(language())),
      h('td', {}, c.seriesCount),
      h('td', {}, c.latestJob ? jobText(c.latestJob) : t('job.none')),
      h(
        'td',
        {},
        h(
          'button',
          {
            type: 'button',
            onclick: () => {
              if (!confirm(t('cases.deleteConfirm', { label: c.label }))) return;
              request('DELETE', `/api/cases/${c.id}`).then(
                () => void renderCaseList(),
                (error: unknown) => void renderCaseList(t('error.generic', { message: errorText(error) })),
              );
            },
          },
          t('cases.delete'),
        ),
      ),
    ),
  );
  show(
    h('h2', {}, t('cases.title')),
    message ? h('p', { class: 'error', role: 'alert' }, message) : null,
    cases.length === 0
      ? h('p', {}, t('cases.empty'))
      : h(
          'table',
          { class: 'cases' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', {}, t('cases.label')),
              h('th', {}, t('cases.created')),
              h('th', {}, t('cases.series')),
              h('th', {}, t('cases.status')),
              h('th', {}),
            ),
          ),
          h('tbody', {}, ...rows),
        ),
    form,
  );
}

function stopPolling(): void {
  if (page?.pollTimer) window.clearTimeout(page.pollTimer);
  if (page) page.pollTimer = null;
}

async function loadCase(caseId: string): Promise<void> {
  const detail = await request<CaseDetail>('GET', `/api/cases/${caseId}`);
  const seriesKey = detail.series.map((s) => s.id).join(',');
  const report = detail.hasResult ? await fetchReport(caseId).catch(() => null) : null;
  if (!page || page.detail.id !== caseId || page.viewerSeriesKey !== seriesKey) {
    const viewer = new SliceViewer(caseId, detail.series);
    page = {
      detail,
      viewer,
      viewerSeriesKey: seriesKey,
      report,
      uploadMessage: page?.detail.id === caseId ? page.uploadMessage : () => '',
      pollTimer: null,
    };
  } else {
    page.detail = detail;
    page.report = report;
  }
  page.viewer.setReport(report);
  renderCasePage();
  const active = detail.jobs.find((j) => j.status === 'queued' || j.status === 'running');
  if (active) schedulePoll(caseId);
}

function schedulePoll(caseId: string): void {
  stopPolling();
  if (!page) return;
  page.pollTimer = window.setTimeout(() => {
    if (page?.detail.id !== caseId) return;
    loadCase(caseId).catch((error: unknown) => {
      // A failed poll (server restarting, network down) is shown and retried. After a 401 the page is gone.
      if (page?.detail.id !== caseId) return;
      page.uploadMessage = () => t('error.generic', { message: errorText(error) });
      renderCasePage();
      schedulePoll(caseId);
    });
  }, POLL_INTERVAL_MS);
}

function uploadForm(caseId: string): HTMLElement {
  const phase = h(
    'select',
    { 'data-testid': 'upload-phase' },
    ...PHASE_CHOICES.map((p) =>
      h('option', { value: p, selected: p === lastPhase }, t(`phase.${p}` as MessageKey)),
    ),
  );
  phase.addEventListener('change', () => (lastPhase = phase.value));
  const files = h('input', { type: 'file', multiple: true, 'data-testid': 'upload-files' });
  const folder = h('input', {
    type: 'file',
    multiple: true,
    webkitdirectory: true,
    'data-testid': 'upload-folder',
  });
  const progress = h('progress', { max: 1, value: 0, 'data-testid': 'upload-progress' });
  const status = h('p', { 'data-testid': 'upload-status', role: 'status' }, page?.uploadMessage() ?? '');
  const form = h(
    'form',
    { class: 'upload' },
    h('h3', {}, t('upload.title')),
    h('label', {}, t('upload.phase'), phase),
    h('label', {}, t('upload.files'), files),
    h('label', {}, t('upload.folder'), folder),
    h('button', { type: 'submit', 'data-testid': 'upload-submit' }, t('upload.submit')),
    progress,
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = [...Array.from(files.files ?? []), ...Array.from(folder.files ?? [])];
    if (chosen.length === 0) {
      status.textContent = t('upload.noFiles');
      return;
    }
    uploadFiles(caseId, phase.value, chosen, (fraction) => {
      progress.value = fraction;
      status.textContent = t('upload.progress', { percent: percent(fraction) });
    }).then(
      (result) => {
        const chosenPhase = phase.value;
        if (page)
          page.uploadMessage = () =>
            t('upload.done', { count: result.fileCount, phase: t(`phase.${chosenPhase}` as MessageKey) });
        void loadCase(caseId);
      },
      (error: unknown) => {
        // Rendered again on a language switch, so the summary follows the language.
        const failed = () => t('upload.failed', { message: errorText(error) });
        status.textContent = failed();
        if (page) page.uploadMessage = failed;
      },
    );
  });
  return form;
}

function jobSection(detail: CaseDetail): HTMLElement {
  const start = (kind: 'ingest' | 'diagnose') => {
    // A double click would otherwise send a second request, which the server rejects while the first job runs.
    section.querySelectorAll('button').forEach((button) => (button.disabled = true));
    return request<Job>('POST', `/api/cases/${detail.id}/jobs`, { kind }).then(
      () => void loadCase(detail.id),
      (error: unknown) => {
        if (page) page.uploadMessage = () => t('error.generic', { message: errorText(error) });
        renderCasePage();
      },
    );
  };
  const latest = detail.jobs[0];
  const busy = latest && (latest.status === 'queued' || latest.status === 'running');
  const section = h(
    'div',
    { class: 'jobs' },
    h(
      'button',
      {
        type: 'button',
        'data-testid': 'start-diagnose',
        disabled: busy || detail.uploads.length === 0,
        onclick: () => void start('diagnose'),
      },
      t('job.analyse'),
    ),
    h(
      'button',
      {
        type: 'button',
        'data-testid': 'start-ingest',
        disabled: busy || detail.uploads.length === 0,
        onclick: () => void start('ingest'),
      },
      t('job.ingest'),
    ),
    latest
      ? h(
          'div',
          {
            class: `job job-${latest.status}`,
            'data-testid': 'job-status',
            'data-status': latest.status,
            'data-kind': latest.kind,
          },
          h('progress', { max: 1, value: latest.progress }),
          h('span', {}, jobText(latest)),
          latest.error ? h('p', { class: 'error' }, t('job.error', { message: latest.error })) : null,
          latest.status === 'interrupted' || latest.status === 'failed'
            ? h(
                'button',
                {
                  type: 'button',
                  'data-testid': 'rerun-job',
                  onclick: (event: Event) => {
                    (event.currentTarget as HTMLButtonElement).disabled = true;
                    request('POST', `/api/jobs/${latest.id}/rerun`).then(
                      () => void loadCase(detail.id),
                      (error: unknown) => alert(errorText(error)),
                    );
                  },
                },
                t('job.rerun'),
              )
            : null,
        )
      : h('p', {}, t('job.none')),
  );
  return section;
}

function renderCasePage(): void {
  if (!page) return;
  const { detail, viewer, report } = page;
  const uploads = detail.uploads
    .map((u) => `${t(`phase.${u.phase}` as MessageKey)} × ${u.fileCount}`)
    .join(', ');
  viewer.render();
  show(
    h('p', {}, h('a', { href: '#/cases', 'data-testid': 'back-to-cases' }, t('cases.back'))),
    h('h2', { 'data-testid': 'case-title' }, detail.label),
    h(
      'div',
      { class: 'case-layout' },
      h(
        'section',
        { class: 'left' },
        uploadForm(detail.id),
        uploads ? h('p', {}, t('upload.list', { list: uploads })) : null,
        jobSection(detail),
      ),
      h('section', { class: 'centre' }, viewer.element),
      renderDiagnosisPanel(detail.id, report, (seriesKey, z) => viewer.showSlice(seriesKey, z)),
    ),
  );
}

function route(): void {
  if (!user) return renderLogin();
  const match = /^#\/cases\/([0-9a-f-]{36})$/.exec(location.hash);
  if (match) {
    stopPolling();
    loadCase(match[1]).catch(
      (error: unknown) => void renderCaseList(t('error.generic', { message: errorText(error) })),
    );
  } else {
    void renderCaseList();
  }
}

/** Shows the sign-in form when a request returns 401. Signing in again returns to the same page. */
function sessionEnded(): void {
  if (!user) return;
  user = null;
  stopPolling();
  page = null;
  renderLogin(t('login.sessionEnded'));
}

async function start(): Promise<void> {
  document.documentElement.lang = language();
  onSessionEnded(sessionEnded);
  onLanguageChange(() => {
    if (page) renderCasePage();
    else if (user) void renderCaseList();
    else renderLogin();
  });
  window.addEventListener('hashchange', route);
  try {
    const session = await request<{ user: User | null; csrfToken: string | null }>(
      'GET',
      '/api/auth/session',
    );
    user = session.user;
    setCsrfToken(session.csrfToken ?? '');
  } catch {
    user = null;
  }
  route();
}

void start();
