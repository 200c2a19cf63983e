// The storage node's ListStore as the simulator gives it: a MemoryListStore in manual-commit mode
// (the power-loss model: a crash loses what is not committed) wrapped so that the simulator sees
// every write. Each write asks for a group commit a few virtual milliseconds later, and every
// stored state is shown to the history (late-apply detection).
//
// Write promises get a no-op rejection handler here: in the simulator they reject only when the
// store crashes, that is when the process that made them is dead, so nobody is left to handle
// them. (Disk-full failures are the real-process tests' business; see the package README note in
// sim.ts.)

import type {
  ListHead,
  ListStore,
  MemoryListStore,
  StoredDelta,
  StoredHint,
  StoredList,
} from '@trolley/cloud';

export interface StoreObserver {
  /** Any write: the simulator schedules a commit. */
  written(): void;
  /** A list was written (whole or a delta): `stored` reads what the store now holds of it. */
  put(key: string, stored: () => StoredList | undefined): void;
  /** A read or write happened (drain-depth measurement). */
  activity(): void;
}

export class ObservedStore implements ListStore {
  constructor(
    readonly inner: MemoryListStore,
    private readonly observer: StoreObserver,
  ) {}

  get(key: string): StoredList | undefined {
    return this.inner.get(key);
  }

  head(key: string): ListHead | undefined {
    return this.inner.head(key);
  }

  put(list: Omit<StoredList, 'deltas'>): Promise<void> {
    const p = this.write(this.inner.put(list));
    this.observer.put(list.key, () => this.inner.get(list.key));
    return p;
  }

  append(list: StoredDelta): Promise<void> {
    const p = this.write(this.inner.append(list));
    this.observer.put(list.key, () => this.inner.get(list.key));
    return p;
  }

  delete(key: string): Promise<void> {
    return this.write(this.inner.delete(key));
  }

  partitionEntries(partition: number): { key: string; hash: Uint8Array }[] {
    return this.inner.partitionEntries(partition);
  }

  count(): number {
    return this.inner.count();
  }

  countByPartition(): Map<number, number> {
    return this.inner.countByPartition();
  }

  addHint(hint: Omit<StoredHint, 'id'>): Promise<number> {
    return this.write(this.inner.addHint(hint));
  }

  hintsFor(target: string, max: number): StoredHint[] {
    return this.inner.hintsFor(target, max);
  }

  deleteHint(id: number): Promise<void> {
    return this.write(this.inner.deleteHint(id));
  }

  hintCount(): number {
    return this.inner.hintCount();
  }

  close(): void {
    this.inner.close();
  }

  private write<T>(p: Promise<T>): Promise<T> {
    p.catch(() => undefined);
    this.observer.activity();
    this.observer.written();
    return p;
  }
}
