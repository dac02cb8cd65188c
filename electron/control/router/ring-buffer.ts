/** Fixed-capacity buffer that keeps the most recent items, oldest dropped first. */
export class RingBuffer<T> {
  private readonly items: T[] = [];

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`invalid ring buffer capacity ${capacity}`);
  }

  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.capacity) this.items.shift();
  }

  /** Returns up to `limit` items, newest first. */
  latest(limit: number): T[] {
    return this.items.slice(-limit).reverse();
  }

  get size(): number {
    return this.items.length;
  }
}
