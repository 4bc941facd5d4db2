/**
 * The named template variants. getTemplate("resume", { taxonomy }) is what fine-tuning and evaluation of a
 * fine-tuned model use; the others serve the paper's off-the-shelf and in-context baselines.
 *
 *   resume                 the paper's fine-tuning resume, no birth year (resume.ts; byte for byte as the talk)
 *   resume-birth-year      the same with the line "The worker was born in 1963." (placement ours)
 *   off-the-shelf          the paper's off-the-shelf prompt (off-the-shelf.ts; byte for byte as the talk)
 *   off-the-shelf-titles   the same, preceded by the list of all titles (list wording ours)
 *   icl                    k = 10 example workers from the training split, then the worker, all in the
 *                          off-the-shelf format (icl.ts)
 *   icl-titles             the same, preceded by the list of all titles
 */
import { InputError, NotFoundError } from '../../errors.js';
import type { Taxonomy } from '../taxonomy/taxonomy.js';
import { IclTemplate, type IclOptions } from './icl.js';
import { OffTheShelfTemplate } from './off-the-shelf.js';
import { ResumeTemplate } from './resume.js';
import { ICL_TEMPLATE_NAMES, type Template, TEMPLATE_NAMES, type TemplateName } from './types.js';

export interface TemplateOptions {
  /** Gives each code its title (a numbered taxonomy gives job_001... titles). */
  taxonomy: Taxonomy;
  /** Required by `icl` and `icl-titles`: the pool of example workers (training split), k and seed. */
  icl?: IclOptions;
}

export function isTemplateName(name: string): name is TemplateName {
  return (TEMPLATE_NAMES as readonly string[]).includes(name);
}

/** True for the templates that draw example workers from a pool (the training split). */
export function needsExamplePool(name: string): boolean {
  return (ICL_TEMPLATE_NAMES as readonly string[]).includes(name);
}

/** The template called `name`; NotFoundError listing the valid names for anything else. */
export function getTemplate(name: string, options: TemplateOptions): Template {
  if (!isTemplateName(name)) {
    throw new NotFoundError(`unknown template "${name}": valid templates are ${TEMPLATE_NAMES.join(', ')}`);
  }
  switch (name) {
    case 'resume':
      return new ResumeTemplate(options.taxonomy, false);
    case 'resume-birth-year':
      return new ResumeTemplate(options.taxonomy, true);
    case 'off-the-shelf':
      return new OffTheShelfTemplate(options.taxonomy, false);
    case 'off-the-shelf-titles':
      return new OffTheShelfTemplate(options.taxonomy, true);
    case 'icl':
    case 'icl-titles':
      if (!options.icl) throw new InputError(`template "${name}" needs a pool of example workers (the training split)`);
      return new IclTemplate(options.taxonomy, options.icl, name === 'icl-titles');
  }
}
