/**
 * The paper's fine-tuning resume (template `resume`), byte for byte as the authors' talk shows it
 * (/work/shared/paper, lines 264-278; the slide wraps the third line, which is one line):
 *
 *   <A Resume from the NLSY79 Dataset>\n
 *   The following is the resume of a male white US worker residing in the northcentral region.\n
 *   The worker has the following work experience on the resume, one entry per line, including job code, year, education level and a description of the job:\n
 *   1988 to 1989 (graduate degree): Secretaries and administrative assistants\n
 *   1989 to 1990 (graduate degree): Carpet, floor, and tile installers and finishers\n
 *   ...
 *   1992 to present (graduate degree): Adult Basic and Secondary Education and Literacy Teachers and Instructors\n
 *   <END OF RESUME>
 *
 * One line per record: "YEAR to NEXTYEAR (education): Title", NEXTYEAR being the year of the next record
 * (so a biennial survey reads "1998 to 2000"), and "YEAR to present" on the last record. The text ends
 * with the end marker and no newline (the talk does not show what follows it). There is no birth year:
 * the paper's headline fine-tuned models (Table 6) are its no-birth-year models.
 *
 * `resume-birth-year` is the same with the birth year on its own line after the demographic sentence,
 * worded as the paper's off-the-shelf prompt words it ("The worker was born in 1963."); left out when
 * the birth year is unknown. The paper's with-birth-year models put it somewhere the talk does not show,
 * so this placement is ours.
 */
import type { Worker } from '../panel/types.js';
import type { Taxonomy } from '../taxonomy/taxonomy.js';
import { birthYearLine, headerDatasetName, usWorkerPhrase } from './paper-words.js';
import { type LineLayout, LineTemplate } from './text-builder.js';

export const RESUME_END_MARKER = '<END OF RESUME>';

export const RESUME_EXPERIENCE_LINE =
  'The worker has the following work experience on the resume, one entry per line, including job code, year, education level and a description of the job:';

export function resumeHeader(worker: Worker): string {
  return `<A Resume from the ${headerDatasetName(worker.dataset)} Dataset>`;
}

export function resumeLayout(withBirthYear: boolean): LineLayout {
  return {
    preamble: (w) =>
      `${resumeHeader(w)}\nThe following is the resume of ${usWorkerPhrase(w)}.\n${birthYearLine(w, withBirthYear)}${RESUME_EXPERIENCE_LINE}\n`,
    head: (w, i) => {
      const rec = w.records[i] as { year: number; education: string };
      const next = w.records[i + 1];
      return `${rec.year} to ${next ? next.year : 'present'} (${rec.education}):`;
    },
    epilogue: () => RESUME_END_MARKER,
  };
}

export class ResumeTemplate extends LineTemplate {
  constructor(taxonomy: Taxonomy, withBirthYear = false) {
    super(
      withBirthYear ? 'resume-birth-year' : 'resume',
      withBirthYear
        ? "the paper's fine-tuning resume with a birth-year line (\"The worker was born in 1963.\")"
        : "the paper's fine-tuning resume (no birth year): dataset header, demographic sentence, \"YEAR to NEXTYEAR (education): Title\" lines, end marker",
      taxonomy,
      resumeLayout(withBirthYear),
    );
  }
}
