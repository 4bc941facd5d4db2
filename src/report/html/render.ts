/**
 * The HTML report as one self-contained page: text, tables and the plots' Vega-Lite specs, with Vega,
 * Vega-Lite and vega-embed inlined, so the file opens offline and can be mailed as is.
 *
 * Plots are drawn as SVG in the browser. Every plot container has the class "plot" and an id; the page
 * records its progress in `window.__laborLlmReport` ({ total, rendered, failed, done }) so tests (and curious
 * users) can tell whether every plot was drawn.
 */
import type { TopLevelSpec } from 'vega-lite';
import { inlineJson, inlineScript, plotLibraries } from './assets.js';
import { calibrationSpec, perplexitySpec, sampleSpec } from './specs.js';
import { BINARY_TASK_LABELS, type BinaryTask, type HtmlReportView, type ReportTable, type SampleWorker } from './types.js';
import { formatCell, isNumericColumn } from '../table.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
:root { color-scheme: light; --fg: #1d1d1f; --muted: #5f6368; --line: #e3e3e3; --accent: #1f77b4; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: #fff; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 28px; margin: 0 0 8px; }
h2 { font-size: 21px; margin: 40px 0 8px; padding-top: 8px; border-top: 1px solid var(--line); }
h3 { font-size: 16px; margin: 24px 0 4px; }
p.note, .muted { color: var(--muted); }
nav a { margin-right: 16px; color: var(--accent); text-decoration: none; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 12px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.plot { margin: 12px 0 4px; min-height: 40px; overflow-x: auto; }
.plot-error { color: #b00020; }
table { border-collapse: collapse; margin: 8px 0; font-size: 14px; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { border-bottom: 2px solid #999; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: 4px; }
ul.table-notes { margin: 0 0 16px; padding-left: 18px; color: var(--muted); font-size: 13px; }
.sample { margin-bottom: 28px; }
tr.predicted td { font-weight: 600; }
footer { margin-top: 48px; color: var(--muted); font-size: 13px; }
`;

function renderTable(t: ReportTable): string {
  const numeric = t.columns.map((_, j) => isNumericColumn(t, j));
  const head = t.columns.map((c, j) => `<th${numeric[j] ? ' class="num"' : ''}>${escapeHtml(c.label)}</th>`).join('');
  const body = t.rows
    .map(
      (r) =>
        `<tr>${t.columns
          .map((c, j) => `<td${numeric[j] ? ' class="num"' : ''}>${escapeHtml(formatCell(r[j] ?? null, c.digits))}</td>`)
          .join('')}</tr>`,
    )
    .join('\n');
  const notes = t.notes?.length ? `<ul class="table-notes">${t.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : '';
  return `<table id="table-${escapeHtml(t.id)}"><caption>${escapeHtml(t.title)}</caption><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>${notes}`;
}

function renderSample(s: SampleWorker, plotId: string | null): string {
  const predicted = new Set(s.predictions.map((p) => p.index));
  const rows = s.history
    .map(
      (r, i) =>
        `<tr${predicted.has(i) ? ' class="predicted"' : ''}><td class="num">${r.year}</td><td>${escapeHtml(r.education)}</td><td>${escapeHtml(r.title)}</td><td class="muted">${escapeHtml(r.code)}</td></tr>`,
    )
    .join('\n');
  const target = s.predictions[0];
  const what = target
    ? `<p class="note">Predicting the ${target.year} record (in bold) from the years before it: each model's most probable titles, the observed one in red.</p>`
    : '<p class="note">No stored predictions for this worker.</p>';
  return `<div class="sample" id="sample-${escapeHtml(s.workerId)}">
<h3>Worker ${escapeHtml(s.workerId)} <span class="muted">(${escapeHtml(s.dataset)})</span></h3>
<p class="muted">${escapeHtml(s.traits)}</p>
<table><thead><tr><th class="num">year</th><th>education</th><th>title</th><th>code</th></tr></thead><tbody>
${rows}
</tbody></table>
${what}
${plotId ? `<div class="plot" id="${plotId}"></div>` : ''}
</div>`;
}

/** Plot ids and their specs, in page order. */
export function plotSpecs(view: HtmlReportView): { id: string; spec: TopLevelSpec }[] {
  const plots: { id: string; spec: TopLevelSpec }[] = [];
  if (view.perplexity.length > 0) plots.push({ id: 'plot-perplexity', spec: perplexitySpec(view.perplexity) });
  for (const task of Object.keys(BINARY_TASK_LABELS) as BinaryTask[]) {
    if (view.calibration.some((p) => p.task === task)) plots.push({ id: `plot-calibration-${task}`, spec: calibrationSpec(view.calibration, task) });
  }
  view.samples.forEach((s, i) => {
    if (s.predictions.some((p) => p.topK.length > 0)) plots.push({ id: `plot-sample-${i + 1}`, spec: sampleSpec(s) });
  });
  return plots;
}

// Runs in the page: draws every plot and records the outcome; a failure is shown in place and logged.
const BOOTSTRAP = `(function () {
  var specs = JSON.parse(document.getElementById('labor-llm-plots').textContent);
  var ids = Object.keys(specs);
  var status = (window.__laborLlmReport = { total: ids.length, rendered: 0, failed: [], done: false });
  Promise.all(ids.map(function (id) {
    return vegaEmbed('#' + id, specs[id], { renderer: 'svg', actions: false })
      .then(function () { status.rendered++; })
      .catch(function (err) {
        status.failed.push(id);
        var el = document.getElementById(id);
        el.className += ' plot-error';
        el.textContent = 'This plot could not be drawn: ' + (err && err.message ? err.message : err);
        console.error('labor-llm report: plot ' + id + ' failed: ' + (err && err.stack ? err.stack : err));
      });
  })).then(function () {
    status.done = true;
    document.documentElement.setAttribute('data-plots', status.failed.length ? 'failed' : 'done');
  });
})();`;

/** The whole page as a string. */
export function renderHtmlReport(view: HtmlReportView): string {
  const plots = plotSpecs(view);
  const has = new Set(plots.map((p) => p.id));
  const libs = plotLibraries();
  const sections: string[] = [];
  const nav: string[] = [];

  nav.push('<a href="#perplexity">Perplexity</a>');
  sections.push(`<section id="perplexity"><h2>Test perplexity</h2>
<p class="note">exp(&minus;mean log P(observed next title)) over the test transitions: lower is better; the uniform
model's perplexity is the number of titles. Bars: 95% intervals, exp(log perplexity &plusmn; 1.96 SE) with the
worker-level bootstrap standard error of the log perplexity (&plusmn;1.96 SE of the perplexity where that is all there is).</p>
${has.has('plot-perplexity') ? '<div class="plot" id="plot-perplexity"></div>' : '<p class="muted">No perplexities in this report.</p>'}
</section>`);

  nav.push('<a href="#calibration">Calibration</a>');
  const calib = (Object.keys(BINARY_TASK_LABELS) as BinaryTask[])
    .filter((t) => has.has(`plot-calibration-${t}`))
    .map((t) => `<div class="plot" id="plot-calibration-${t}"></div>`);
  sections.push(`<section id="calibration"><h2>Calibration of the binary tasks</h2>
<p class="note">A model's probability of an event is the sum of its title probabilities over the event. Transitions
are grouped by predicted probability; a calibrated model's points lie on the diagonal. "Stays in the same
occupation": the next code equals the previous one. "Stays in the labor force": the next state is an occupation
or the military, among transitions from one.</p>
${calib.length ? calib.join('\n') : '<p class="muted">No binary-task results in this report.</p>'}
</section>`);

  if (view.samples.length > 0) {
    nav.push('<a href="#samples">Sample workers</a>');
    const items = view.samples.map((s, i) => renderSample(s, has.has(`plot-sample-${i + 1}`) ? `plot-sample-${i + 1}` : null));
    sections.push(`<section id="samples"><h2>Sample workers</h2>\n${items.join('\n')}\n</section>`);
  }

  if (view.tables.length > 0) {
    nav.push('<a href="#tables">Tables</a>');
    sections.push(`<section id="tables"><h2>Tables</h2>\n${view.tables.map(renderTable).join('\n')}\n</section>`);
  }

  const intro = (view.intro ?? []).map((p) => `<p>${escapeHtml(p)}</p>`).join('\n');
  const facts = view.facts?.length
    ? `<dl class="facts">${view.facts.map((f) => `<dt>${escapeHtml(f.label)}</dt><dd>${escapeHtml(f.value)}</dd>`).join('')}</dl>`
    : '';
  const generated = view.generatedAt ? ` on ${escapeHtml(view.generatedAt)}` : '';
  const credits = libs.map((l) => `${escapeHtml(l.name)} ${escapeHtml(l.version)}`).join(', ');
  const specJson = inlineJson(Object.fromEntries(plots.map((p) => [p.id, p.spec])));
  const scripts = libs.map((l) => `<script data-library="${escapeHtml(l.name)}">\n${inlineScript(l.source)}\n</script>`).join('\n');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="labor-llm">
<title>${escapeHtml(view.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header>
<h1>${escapeHtml(view.title)}</h1>
${intro}
${facts}
<nav>${nav.join('')}</nav>
</header>
${sections.join('\n')}
<footer>Written by labor-llm${generated}. Plots drawn with ${credits}, inlined in this file.</footer>
</main>
<script type="application/json" id="labor-llm-plots">${specJson}</script>
${scripts}
<script>
${BOOTSTRAP}
</script>
</body>
</html>
`;
}
