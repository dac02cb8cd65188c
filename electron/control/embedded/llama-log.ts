import { LlamaLogLevel } from 'node-llama-cpp';

/** Error lines llama.cpp logged, kept so a failed model load can report why it failed. */
export class LlamaErrorLog {
  private readonly lines: { at: number; message: string }[] = [];
  private sequence = 0;

  constructor(private readonly maxLines = 50) {}

  /** Records a llama.cpp log line when it is a warning or an error. */
  record(level: LlamaLogLevel, message: string): void {
    if (level !== LlamaLogLevel.error && level !== LlamaLogLevel.fatal && level !== LlamaLogLevel.warn) return;
    this.lines.push({ at: ++this.sequence, message: message.trim() });
    if (this.lines.length > this.maxLines) this.lines.shift();
  }

  /** Returns a mark to pass to `loadErrorSince`. */
  mark(): number {
    return this.sequence;
  }

  /**
   * Returns llama.cpp's reason for the last failed model load logged after `mark`, such as
   * `error loading model hyperparameters: key not found in model: llama.context_length`.
   * node-llama-cpp runs one model load at a time, so lines after the mark belong to that load.
   */
  loadErrorSince(mark: number): string | undefined {
    const prefix = 'error loading model: ';
    for (let index = this.lines.length - 1; index >= 0 && this.lines[index].at > mark; index -= 1) {
      const message = this.lines[index].message;
      const start = message.indexOf(prefix);
      if (start >= 0) return message.slice(start + prefix.length);
    }
    return undefined;
  }
}
