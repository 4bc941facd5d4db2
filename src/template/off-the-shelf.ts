/**
 * Prompts for models that were not fine-tuned on resumes (templates `off-the-shelf` and
 * `off-the-shelf-titles`), byte for byte:
 *
 *   Career history of a worker from the NLSY79 survey: a female worker of hispanic ethnicity living in the South region, born in 1960.\n
 *   Each line gives a year, the worker's education that year in parentheses, and the worker's occupation that year.\n
 *   1980 (high school diploma): In education\n
 *   1981 (college): Financial managers\n
 *
 * `off-the-shelf-titles` puts the list of every title of the taxonomy, in taxonomy order, before it:
 *
 *   Every occupation below is one of these titles:\n
 *   Chief executives, public administrators, and legislators\n
 *   ...\n
 *   Military occupations\n
 *   \n
 *   Career history of ...
 *
 * There is no end marker: the text stops after the last record's line.
 */
import type { Worker } from '../panel/types.js';
import type { Taxonomy } from '../taxonomy/taxonomy.js';
import { allPrompts, describeWorker, type LineLayout, promptLines, renderLines } from './text-builder.js';
import type { PredictionPrompt, RenderedWorker, Template, TemplateName } from './types.js';

export class OffTheShelfTemplate implements Template {
  readonly name: TemplateName;
  readonly description: string;
  private readonly layout: LineLayout;

  constructor(
    private readonly taxonomy: Taxonomy,
    listTitles = false,
  ) {
    this.name = listTitles ? 'off-the-shelf-titles' : 'off-the-shelf';
    this.description = listTitles
      ? 'off-the-shelf prompt preceded by the list of all titles of the taxonomy'
      : 'off-the-shelf prompt: a short preamble and "YEAR (education): Title" lines';
    const titleList = listTitles
      ? `Every occupation below is one of these titles:\n${taxonomy.titles().join('\n')}\n\n`
      : '';
    this.layout = {
      preamble: (w) =>
        `${titleList}Career history of a worker from the ${w.dataset} survey: ${describeWorker(w, true)}.\n` +
        "Each line gives a year, the worker's education that year in parentheses, and the worker's occupation that year.\n",
      head: (w, i) => {
        const rec = w.records[i] as { year: number; education: string };
        return `${rec.year} (${rec.education}):`;
      },
      epilogue: () => '',
    };
  }

  render(worker: Worker): RenderedWorker {
    return renderLines(this.layout, this.taxonomy, worker);
  }

  prompt(worker: Worker, index: number): string {
    return promptLines(this.layout, this.taxonomy, worker, index);
  }

  prompts(worker: Worker): PredictionPrompt[] {
    return allPrompts(this.taxonomy, worker, (w, i) => this.prompt(w, i));
  }
}
