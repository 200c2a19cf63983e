// A Map that forgets its least recently used entries past a size limit. For caches and
// recent-operation tables: everything that grows has a limit.
//
// Order is a JavaScript Map's insertion order; using an entry moves it to the newest end. Moving
// is a delete and a set, and a hot key moved on every use leaves the Map's table full of holes to
// compact (a cost the storage node's profile showed). So an entry is moved only once it has
// fallen into the older half of the order — sizeMax / 2 moves or inserts ago or more — which is
// all eviction needs: an entry used at least that often never becomes the oldest.

export class BoundedMap<K, V> {
  private readonly map = new Map<K, { value: V; at: number }>();
  /** Inserts and moves so far: an entry's `at` says how recently it was put at the newest end. */
  private clock = 0;

  constructor(readonly sizeMax: number) {}

  get(key: K): V | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    if (this.clock - e.at >= this.sizeMax / 2) {
      this.map.delete(key);
      e.at = ++this.clock;
      this.map.set(key, e);
    }
    return e.value;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, { value, at: ++this.clock });
    while (this.map.size > this.sizeMax) {
      const oldest = this.map.keys().next();
      if (oldest.done === true) break;
      this.map.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.map.delete(key);
  }

  get size(): number {
    return this.map.size;
  }
}
