/** A binary min-heap of items by a numeric priority (ties in no particular order). */
export class MinHeap<T> {
  readonly #at: number[] = [];
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  push(item: T, at: number): void {
    const at_ = this.#at;
    const items = this.#items;
    let i = items.length;
    at_.push(at);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (at_[parent] <= at) break;
      at_[i] = at_[parent];
      items[i] = items[parent];
      i = parent;
    }
    at_[i] = at;
    items[i] = item;
  }

  /** The smallest priority, or undefined when empty. */
  peekAt(): number | undefined {
    return this.#at[0];
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  /** Removes the item with the smallest priority. */
  pop(): T | undefined {
    const at_ = this.#at;
    const items = this.#items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const lastAt = at_.pop()!;
    const last = items.pop()!;
    const n = items.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && at_[r] < at_[l] ? r : l;
        if (at_[c] >= lastAt) break;
        at_[i] = at_[c];
        items[i] = items[c];
        i = c;
      }
      at_[i] = lastAt;
      items[i] = last;
    }
    return top;
  }
}
