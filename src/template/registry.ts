/**
 * The named template variants. getTemplate("resume", { taxonomy }) is what fine-tuning and evaluation of a
 * fine-tuned model use; the others serve the paper's off-the-shelf and in-context baselines.
 *
 *   resume                 fine-tuning resume with the birth year (resume.ts)
 *   resume-no-birth-year   the same without the birth year
 *   off-the-shelf          "YEAR (education): Title" lines after a short preamble (off-the-shelf.ts)
 *   off-the-shelf-titles   the same, preceded by the list of all titles
 *   icl                    k example resumes from the training split, then the worker's resume (icl.ts)
 */
import { InputError, NotFoundError } from '../errors.js';
import type { Taxonomy } from '../taxonomy/taxonomy.js';
import { IclTemplate, type IclOptions } from './icl.js';
import { OffTheShelfTemplate } from './off-the-shelf.js';
import { ResumeTemplate } from './resume.js';
import { type Template, TEMPLATE_NAMES, type TemplateName } from './types.js';

export interface TemplateOptions {
  /** Gives each code its title (a numbered taxonomy gives job_001... titles). */
  taxonomy: Taxonomy;
  /** Required by `icl`: the pool of example workers (training split), k and seed. */
  icl?: IclOptions;
}

export function isTemplateName(name: string): name is TemplateName {
  return (TEMPLATE_NAMES as readonly string[]).includes(name);
}

/** The template called `name`; NotFoundError listing the valid names for anything else. */
export function getTemplate(name: string, options: TemplateOptions): Template {
  if (!isTemplateName(name)) {
    throw new NotFoundError(`unknown template "${name}": valid templates are ${TEMPLATE_NAMES.join(', ')}`);
  }
  switch (name) {
    case 'resume':
      return new ResumeTemplate(options.taxonomy, true);
    case 'resume-no-birth-year':
      return new ResumeTemplate(options.taxonomy, false);
    case 'off-the-shelf':
      return new OffTheShelfTemplate(options.taxonomy, false);
    case 'off-the-shelf-titles':
      return new OffTheShelfTemplate(options.taxonomy, true);
    case 'icl':
      if (!options.icl) throw new InputError('template "icl" needs a pool of example workers (the training split)');
      return new IclTemplate(options.taxonomy, options.icl);
  }
}
