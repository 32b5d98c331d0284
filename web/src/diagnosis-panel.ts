/** The diagnosis panel: demo-model warning, patient and lesion probabilities, model versions, report downloads. */
import {
  LESION_CLASSES,
  type Classification,
  type DiagnosisReport,
} from '../../src/diagnose/report-types.ts';
import { h, percent } from './dom.ts';
import { t, type MessageKey } from './i18n/i18n.ts';

function probabilityTable(classification: Classification): HTMLElement {
  return h(
    'table',
    { class: 'probabilities' },
    h(
      'tbody',
      {},
      h(
        'tr',
        {},
        h('th', {}, t('diagnosis.pMalignant')),
        h('td', { 'data-testid': 'p-malignant' }, `${percent(classification.pMalignant)}%`),
      ),
      ...LESION_CLASSES.map((name) => {
        const value = classification.probabilities[name];
        return h(
          'tr',
          { class: classification.call === name ? 'call' : '' },
          h('th', {}, t(`class.${name}` as MessageKey)),
          h('td', {}, value === null ? '–' : `${percent(value)}%`),
        );
      }),
    ),
  );
}

function callLine(classification: Classification): HTMLElement {
  const call = classification.call
    ? t(`class.${classification.call}` as MessageKey)
    : t(`branch.${classification.branch}` as MessageKey);
  return h(
    'p',
    { class: 'call-line' },
    `${t('diagnosis.call')}: `,
    h('strong', {}, call),
    ` (${percent(classification.callProbability)}%)`,
  );
}

function printReport(caseId: string): void {
  const frame = h('iframe', {
    class: 'print-frame',
    src: `/api/cases/${caseId}/report.html`,
    title: 'report',
  });
  frame.addEventListener('load', () => {
    frame.contentWindow?.print();
    setTimeout(() => frame.remove(), 60_000);
  });
  document.body.append(frame);
}

export function renderDiagnosisPanel(
  caseId: string,
  report: DiagnosisReport | null,
  showSlice: (seriesKey: string, z: number) => void,
): HTMLElement {
  const panel = h(
    'section',
    { class: 'diagnosis', 'data-testid': 'diagnosis-panel' },
    h('h2', {}, t('diagnosis.title')),
  );
  if (!report) {
    panel.append(h('p', { class: 'notice' }, t('diagnosis.none')));
    return panel;
  }
  if (report.demoModels) {
    panel.append(
      h(
        'div',
        { class: 'demo-warning', role: 'alert', 'data-testid': 'demo-warning' },
        t('diagnosis.demoWarning'),
      ),
    );
  }
  panel.append(h('h3', {}, t('diagnosis.patient')));
  if (report.patient) panel.append(callLine(report.patient), probabilityTable(report.patient));
  else panel.append(h('p', {}, t('diagnosis.noLesion')));

  panel.append(h('h3', {}, t('diagnosis.lesions')));
  if (report.lesions.length === 0) panel.append(h('p', {}, t('diagnosis.noLesion')));
  for (const [index, lesion] of report.lesions.entries()) {
    const first = lesion.phases[0];
    let diameter = '–';
    if (first && first.maxDiameterMm !== null) diameter = `${first.maxDiameterMm.toFixed(1)} mm`;
    else if (first) diameter = `${Math.round(first.maxDiameterPx)} px`;
    const summary = lesion.classification
      ? ` · ${t('diagnosis.pMalignant')} ${percent(lesion.classification.pMalignant)}%`
      : '';
    // Lesions come ordered by detector confidence; the first is open, the rest fold to one line each.
    panel.append(
      h(
        'details',
        { class: 'lesion', 'data-testid': `lesion-${lesion.id}`, open: index === 0 },
        h('summary', {}, t('diagnosis.lesion', { id: lesion.id }) + summary),
        h(
          'p',
          {},
          `${t('diagnosis.phases')}: ${lesion.phases.map((p) => t(`phase.${p.phase}` as MessageKey)).join(', ')} · ${t('diagnosis.diameter')}: ${diameter}`,
        ),
        lesion.classification ? callLine(lesion.classification) : null,
        lesion.classification ? probabilityTable(lesion.classification) : null,
        first
          ? h(
              'button',
              { type: 'button', onclick: () => showSlice(first.seriesId, first.keySliceIndex) },
              t('diagnosis.keySlice'),
            )
          : null,
      ),
    );
  }

  panel.append(
    h('h3', {}, t('diagnosis.models')),
    h(
      'table',
      { class: 'models', 'data-testid': 'models-table' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, t('diagnosis.model.role')),
          h('th', {}, t('diagnosis.model.architecture')),
          h('th', {}, t('diagnosis.model.version')),
        ),
      ),
      h(
        'tbody',
        {},
        ...report.models.map((model) =>
          h(
            'tr',
            {},
            h('td', {}, t(`role.${model.role}` as MessageKey)),
            h('td', {}, model.architecture),
            h('td', {}, model.version, model.demo ? ` (${t('diagnosis.model.demo')})` : ''),
          ),
        ),
      ),
    ),
  );
  if (report.warnings.length > 0) {
    panel.append(
      h('h3', {}, t('diagnosis.warnings')),
      h('ul', {}, ...report.warnings.map((w) => h('li', {}, w.message))),
    );
  }
  panel.append(
    h('h3', {}, t('report.download')),
    h(
      'div',
      { class: 'downloads' },
      h(
        'a',
        {
          href: `/api/cases/${caseId}/report?download=true`,
          download: `lilnet-report-${caseId}.json`,
          'data-testid': 'download-json',
        },
        t('report.json'),
      ),
      h(
        'a',
        {
          href: `/api/cases/${caseId}/report.html?download=true`,
          download: `lilnet-report-${caseId}.html`,
          'data-testid': 'download-html',
        },
        t('report.html'),
      ),
      h(
        'button',
        { type: 'button', 'data-testid': 'print-report', onclick: () => printReport(caseId) },
        t('report.print'),
      ),
    ),
  );
  return panel;
}
