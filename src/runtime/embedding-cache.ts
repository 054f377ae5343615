/**
 * Byte-budgeted LRU for encoder embeddings: one SAM slice costs 4 MiB (256·64·64 f32), one SAM 2 slice
 * 16 MiB with its high-resolution maps. Evicted entries are disposed (GPU buffers freed).
 */
export interface CacheEntry<V> {
  readonly value: V;
  readonly bytes: number;
}

export class ByteLru<V> {
  private readonly map = new Map<string, CacheEntry<V>>();
  private total = 0;
  evictions = 0;
  hits = 0;
  misses = 0;

  constructor(
    private budget: number,
    private readonly dispose: (v: V, key: string) => void = () => undefined,
  ) {}

  get bytes(): number {
    return this.total;
  }
  get size(): number {
    return this.map.size;
  }
  get budgetBytes(): number {
    return this.budget;
  }

  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (!e) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Refresh recency.
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  /** Inserts and evicts least-recently-used entries until within budget (the new entry always stays). */
  set(key: string, value: V, bytes: number): void {
    const old = this.map.get(key);
    if (old) {
      this.map.delete(key);
      this.total -= old.bytes;
      if (old.value !== value) this.dispose(old.value, key);
    }
    this.map.set(key, { value, bytes });
    this.total += bytes;
    this.evict(key);
  }

  setBudget(bytes: number): void {
    this.budget = bytes;
    this.evict();
  }

  private evict(keep?: string): void {
    for (const [k, e] of this.map) {
      if (this.total <= this.budget) break;
      if (k === keep) continue;
      this.map.delete(k);
      this.total -= e.bytes;
      this.evictions++;
      this.dispose(e.value, k);
    }
  }

  delete(key: string): void {
    const e = this.map.get(key);
    if (!e) return;
    this.map.delete(key);
    this.total -= e.bytes;
    this.dispose(e.value, key);
  }

  /** Removes every entry whose key starts with `prefix` (a model's embeddings when it is unloaded). */
  deletePrefix(prefix: string): void {
    for (const k of [...this.map.keys()]) if (k.startsWith(prefix)) this.delete(k);
  }

  clear(): void {
    for (const [k, e] of this.map) this.dispose(e.value, k);
    this.map.clear();
    this.total = 0;
  }
}
