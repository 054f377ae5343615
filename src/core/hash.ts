/**
 * A fast 64-bit content hash (two independent 32-bit lanes over the bytes). Not cryptographic: it keys
 * caches (image content → embeddings) and dataset file lists. Model files use SHA-256 instead.
 */
export function contentHash(...parts: readonly ArrayBufferView[]): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x1b873593;
  for (const p of parts) {
    const b = new Uint8Array(p.buffer, p.byteOffset, p.byteLength);
    const words = Math.floor(b.length / 4);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < words; i++) {
      const w = dv.getUint32(i * 4, true);
      h1 = Math.imul(h1 ^ w, 0x01000193);
      h1 ^= h1 >>> 15;
      h2 = Math.imul(h2 ^ w, 0x5bd1e995);
      h2 ^= h2 >>> 13;
    }
    for (let i = words * 4; i < b.length; i++) {
      h1 = Math.imul(h1 ^ (b[i] ?? 0), 0x01000193);
      h2 = Math.imul(h2 ^ (b[i] ?? 0), 0x5bd1e995);
    }
    h1 = Math.imul(h1 ^ b.length, 0x85ebca6b);
    h2 = Math.imul(h2 ^ b.length, 0xc2b2ae35);
  }
  h1 ^= h1 >>> 16;
  h2 ^= h2 >>> 16;
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}

export function stringHash(s: string): string {
  return contentHash(new TextEncoder().encode(s));
}
