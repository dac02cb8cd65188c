/**
 * One sink for a child's stdout and stderr. It splits the stream into lines, hands each to a
 * listener, and keeps the most recent lines plus the most recent lines that look like errors, so
 * a failure can carry them.
 */
export class OutputSink {
  private partial = '';
  private readonly recent: string[] = [];
  private readonly errors: string[] = [];
  private readonly all: string[] = [];

  constructor(
    private readonly onLine: (line: string) => void = () => undefined,
    private readonly keep = 40,
    /** Lines kept in full for parsers that read the whole load log; older ones are dropped. */
    private readonly keepAll = 4000,
  ) {}

  write(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const lines = text.split(/\r?\n/);
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.push(line);
  }

  /** Flushes a trailing line that had no newline, for example when the process exits. */
  end(): void {
    if (this.partial) this.push(this.partial);
    this.partial = '';
  }

  lastLines(): string[] {
    return [...this.recent];
  }

  lastErrorLines(): string[] {
    return [...this.errors];
  }

  allLines(): string[] {
    return [...this.all];
  }

  private push(line: string): void {
    if (!line.trim()) return;
    this.recent.push(line);
    if (this.recent.length > this.keep) this.recent.shift();
    this.all.push(line);
    if (this.all.length > this.keepAll) this.all.shift();
    if (looksLikeError(line)) {
      this.errors.push(line);
      if (this.errors.length > this.keep) this.errors.shift();
    }
    this.onLine(line);
  }
}

export function looksLikeError(line: string): boolean {
  return /\b(error|failed|fatal|abort|exception|mismatch|cannot|unable)\b/i.test(line);
}
