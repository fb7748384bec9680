// A bounded FIFO: the newest `capacity` items, oldest first.

export class RingBuffer<T> {
  private items: (T | undefined)[];
  private start = 0;
  private count = 0;

  constructor(private cap: number) {
    this.items = new Array(Math.max(cap, 0));
  }

  get capacity(): number {
    return this.cap;
  }

  get size(): number {
    return this.count;
  }

  /** Adds an item; returns the item it evicted, if the buffer was full. */
  push(item: T): T | undefined {
    if (this.cap === 0) return item;
    if (this.count < this.cap) {
      this.items[(this.start + this.count) % this.cap] = item;
      this.count++;
      return undefined;
    }
    const evicted = this.items[this.start];
    this.items[this.start] = item;
    this.start = (this.start + 1) % this.cap;
    return evicted;
  }

  first(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.start];
  }

  at(index: number): T {
    return this.items[(this.start + index) % this.cap] as T;
  }

  /** Keeps the newest items that fit a new capacity; returns how many were dropped. */
  resize(capacity: number): number {
    const kept = this.toArray().slice(Math.max(0, this.count - capacity));
    const dropped = this.count - kept.length;
    this.cap = Math.max(capacity, 0);
    this.items = new Array(this.cap);
    this.start = 0;
    this.count = 0;
    for (const item of kept) this.push(item);
    return dropped;
  }

  clear(): number {
    const dropped = this.count;
    this.items = new Array(this.cap);
    this.start = 0;
    this.count = 0;
    return dropped;
  }

  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.at(i));
    return out;
  }
}
