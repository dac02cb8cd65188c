/**
 * Kind of work a request gives the model; learning statistics are kept per task type.
 * `metadata` is `/api/show`, which reads the model file's details without running the model, so
 * the learning store does not record it.
 */
export type TaskType =
  | 'metadata'
  | 'chat'
  | 'generation'
  | 'embedding'
  | 'summarisation'
  | 'extraction'
  | 'classification'
  | 'analysis'
  | 'code';

export const taskTypes: readonly TaskType[] = [
  'metadata',
  'chat',
  'generation',
  'embedding',
  'summarisation',
  'extraction',
  'classification',
  'analysis',
  'code',
];

/** Keyword rules checked in order; the first match wins. */
const rules: Array<{ task: TaskType; pattern: RegExp }> = [
  { task: 'code', pattern: /```|\b(function|def|class|compile|stack trace|refactor|typescript|javascript|python|rust|golang|sql query|regex)\b/i },
  { task: 'summarisation', pattern: /\b(summari[sz]e|summary|tl;?dr|condense|key points)\b/i },
  { task: 'extraction', pattern: /\b(extract|pull out|list all|parse|fill in the fields)\b/i },
  { task: 'classification', pattern: /\b(classify|categori[sz]e|which category|sentiment|label (this|the))\b/i },
  { task: 'analysis', pattern: /\b(analy[sz]e|analysis|compare|evaluate|critique|pros and cons|trade-?offs?)\b/i },
];

/**
 * Infers the task type from the endpoint and the instruction text (system prompt plus the last
 * user message). A structured `format` (JSON schema or "json") counts as extraction when no
 * keyword matched first.
 */
export function classifyTask(kind: 'chat' | 'generate' | 'embed' | 'show', instruction: string, hasFormat: boolean): TaskType {
  if (kind === 'show') return 'metadata';
  if (kind === 'embed') return 'embedding';
  for (const rule of rules) {
    if (rule.pattern.test(instruction)) return rule.task;
  }
  if (hasFormat) return 'extraction';
  return kind === 'chat' ? 'chat' : 'generation';
}
