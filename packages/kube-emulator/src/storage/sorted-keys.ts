// Keys kept in byte order (etcd's order, which lists follow), with binary-search insert and delete.

export class SortedKeys {
  private readonly keys: string[] = [];

  get size(): number {
    return this.keys.length;
  }

  /** Index of the first key greater than or equal to `key`. */
  private lowerBound(key: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(key: string): void {
    const at = this.lowerBound(key);
    if (this.keys[at] !== key) this.keys.splice(at, 0, key);
  }

  delete(key: string): void {
    const at = this.lowerBound(key);
    if (this.keys[at] === key) this.keys.splice(at, 1);
  }

  /** How many keys come strictly after `after` (all keys when undefined). */
  countAfter(after?: string): number {
    if (after === undefined) return this.keys.length;
    const at = this.lowerBound(after);
    return this.keys.length - (this.keys[at] === after ? at + 1 : at);
  }

  /** Keys strictly after `after` (all keys when undefined), in order. */
  *from(after?: string): Generator<string> {
    let at = after === undefined ? 0 : this.lowerBound(after);
    if (after !== undefined && this.keys[at] === after) at++;
    for (; at < this.keys.length; at++) yield this.keys[at]!;
  }
}
