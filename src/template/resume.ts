/**
 * The fine-tuning resume (templates `resume` and `resume-no-birth-year`), byte for byte:
 *
 *   <A Resume from the NLSY79 Dataset>\n
 *   The following resume is of a female worker of hispanic ethnicity living in the South region, born in 1960.\n
 *   1980 to 1981 (high school diploma): In education\n
 *   1981 to 1983 (college): Financial managers\n
 *   1983 to present (college): Financial managers\n
 *   <END OF RESUME>
 *
 * One line per record: "YEAR to NEXTYEAR (education): Title", NEXTYEAR being the year of the next record
 * (so a biennial survey reads "1998 to 2000"), and "YEAR to present" on the last record. The text ends
 * with the end marker and no newline. ", born in YEAR" is left out by `resume-no-birth-year` and when the
 * birth year is unknown.
 */
import type { Worker } from '../panel/types.js';
import type { Taxonomy } from '../taxonomy/taxonomy.js';
import { allPrompts, describeWorker, type LineLayout, promptLines, renderLines } from './text-builder.js';
import type { PredictionPrompt, RenderedWorker, Template, TemplateName } from './types.js';

export const RESUME_END_MARKER = '<END OF RESUME>';

export function resumeHeader(worker: Worker): string {
  return `<A Resume from the ${worker.dataset} Dataset>`;
}

export function resumeLayout(withBirthYear: boolean): LineLayout {
  return {
    preamble: (w) => `${resumeHeader(w)}\nThe following resume is of ${describeWorker(w, withBirthYear)}.\n`,
    head: (w, i) => {
      const rec = w.records[i] as { year: number; education: string };
      const next = w.records[i + 1];
      return `${rec.year} to ${next ? next.year : 'present'} (${rec.education}):`;
    },
    epilogue: () => RESUME_END_MARKER,
  };
}

export class ResumeTemplate implements Template {
  readonly name: TemplateName;
  readonly description: string;
  private readonly layout: LineLayout;

  constructor(
    private readonly taxonomy: Taxonomy,
    withBirthYear = true,
  ) {
    this.name = withBirthYear ? 'resume' : 'resume-no-birth-year';
    this.description = withBirthYear
      ? 'fine-tuning resume: dataset header, demographic sentence with birth year, "YEAR to NEXTYEAR (education): Title" lines, end marker'
      : 'fine-tuning resume without the birth year';
    this.layout = resumeLayout(withBirthYear);
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
