export * from './types.js';
export * from './registry.js';
export { ResumeTemplate, RESUME_END_MARKER, RESUME_EXPERIENCE_LINE, resumeHeader } from './resume.js';
export { OffTheShelfTemplate, OFF_THE_SHELF_RECORDS_LINE, TITLE_LIST_INTRO, titleListBlock } from './off-the-shelf.js';
export { IclTemplate, ICL_DEFAULT_K, ICL_SEPARATOR, type IclOptions } from './icl.js';
export { birthYearLine, headerDatasetName, usWorkerPhrase } from './paper-words.js';
export { utf8Spans } from './text-builder.js';
