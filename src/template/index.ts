export * from './types.js';
export * from './registry.js';
export { ResumeTemplate, RESUME_END_MARKER, resumeHeader } from './resume.js';
export { OffTheShelfTemplate } from './off-the-shelf.js';
export { IclTemplate, ICL_SEPARATOR, type IclOptions } from './icl.js';
export { describeWorker, utf8Spans } from './text-builder.js';
