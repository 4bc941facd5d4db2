/** Paper-style tables from results stores: the Report data model, its builder and Markdown renderer. */
export * from './types.js';
export { buildReport } from './build.js';
export { renderMarkdown, formatEstimate } from './markdown.js';
export { renderPaperTables } from './paper.js';
