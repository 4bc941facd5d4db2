/**
 * The paper's off-the-shelf prompt (template `off-the-shelf`), byte for byte as the authors' talk shows
 * it (/work/shared/paper, lines 152-159):
 *
 *   <A worker from the PSID dataset>\n
 *   The following information is available about the work history of a female black or african american US worker residing in the south region.\n
 *   The worker was born in 1963.\n
 *   The worker has the following records of work experience, one entry per line, including year, education level, and the job title:\n
 *   1984 (some college): Cooks\n
 *   1985 (some college): Cooks\n
 *   1987 (some college): Food servers, nonrestaurant\n
 *   1989 (some college):
 *
 * (the last line is the prompt for the 1989 record). The birth-year line is left out when the birth
 * year is unknown. There is no end marker: the text stops after the last record's line.
 *
 * `off-the-shelf-titles` (the talk's "Prompt 2: include list of job titles in context") puts the list of
 * every title of the taxonomy, in taxonomy order, before it. The talk does not show that prompt's
 * wording; this one is ours (TITLE_LIST_INTRO):
 *
 *   The following is the list of job titles, one per line. Every job title in the records below is one of them:\n
 *   Chief executives, public administrators, and legislators\n
 *   ...\n
 *   Military occupations\n
 *   \n
 *   <A worker from the PSID dataset>\n
 *   ...
 *
 * The list comes first so that it is the same text for every worker (an engine evaluates it once per
 * run, not once per worker) and so that the in-context templates can show it once above all examples.
 */
import type { Worker } from '../panel/types.js';
import type { Taxonomy } from '../taxonomy/taxonomy.js';
import { birthYearLine, headerDatasetName, usWorkerPhrase } from './paper-words.js';
import { type LineLayout, LineTemplate } from './text-builder.js';

export const OFF_THE_SHELF_RECORDS_LINE =
  'The worker has the following records of work experience, one entry per line, including year, education level, and the job title:';

/** Our wording: the talk does not show the title-list prompt. */
export const TITLE_LIST_INTRO = 'The following is the list of job titles, one per line. Every job title in the records below is one of them:';

/** The title list and the blank line after it, as `off-the-shelf-titles` and `icl-titles` print it. */
export function titleListBlock(taxonomy: Taxonomy): string {
  return `${TITLE_LIST_INTRO}\n${taxonomy.titles().join('\n')}\n\n`;
}

export function offTheShelfLayout(prefix = ''): LineLayout {
  return {
    preamble: (w) =>
      `${prefix}<A worker from the ${headerDatasetName(w.dataset)} dataset>\n` +
      `The following information is available about the work history of ${usWorkerPhrase(w)}.\n` +
      `${birthYearLine(w, true)}${OFF_THE_SHELF_RECORDS_LINE}\n`,
    head: (w, i) => {
      const rec = w.records[i] as { year: number; education: string };
      return `${rec.year} (${rec.education}):`;
    },
    epilogue: () => '',
  };
}

export class OffTheShelfTemplate extends LineTemplate {
  constructor(taxonomy: Taxonomy, listTitles = false) {
    super(
      listTitles ? 'off-the-shelf-titles' : 'off-the-shelf',
      listTitles
        ? "the paper's off-the-shelf prompt preceded by the list of all titles of the taxonomy (list wording ours)"
        : "the paper's off-the-shelf prompt: header, demographic and birth-year sentences, \"YEAR (education): Title\" lines",
      taxonomy,
      offTheShelfLayout(listTitles ? titleListBlock(taxonomy) : ''),
    );
  }
}
