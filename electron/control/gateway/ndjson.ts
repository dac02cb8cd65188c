const newline = 0x0a;

/**
 * Splits a byte stream into NDJSON lines. Each returned line keeps its trailing `\n`, and bytes
 * after the last newline wait for the next chunk, so an object split across chunks comes out
 * whole and several objects in one chunk come out one by one.
 */
export class LineSplitter {
  private pending: Buffer[] = [];

  push(chunk: Buffer): Buffer[] {
    const lines: Buffer[] = [];
    let start = 0;
    let index = chunk.indexOf(newline, start);
    while (index !== -1) {
      const piece = chunk.subarray(start, index + 1);
      if (this.pending.length > 0) {
        lines.push(Buffer.concat([...this.pending, piece]));
        this.pending = [];
      } else {
        lines.push(piece);
      }
      start = index + 1;
      index = chunk.indexOf(newline, start);
    }
    if (start < chunk.length) this.pending.push(chunk.subarray(start));
    return lines;
  }

  /** Returns the bytes after the last newline, or null when there are none. */
  rest(): Buffer | null {
    if (this.pending.length === 0) return null;
    const rest = Buffer.concat(this.pending);
    this.pending = [];
    return rest.length > 0 ? rest : null;
  }
}
