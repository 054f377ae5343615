/**
 * Plain tensor data, independent of any runtime: core/ builds feeds and reads outputs in this form and
 * src/runtime/ converts to and from onnxruntime tensors. Dims are numbers (no symbolic dims here).
 */
export type TensorData =
  | { readonly type: 'float32'; readonly data: Float32Array; readonly dims: readonly number[] }
  | { readonly type: 'float16'; readonly data: Uint16Array; readonly dims: readonly number[] }
  | { readonly type: 'int64'; readonly data: BigInt64Array; readonly dims: readonly number[] }
  | { readonly type: 'int32'; readonly data: Int32Array; readonly dims: readonly number[] }
  | { readonly type: 'bool'; readonly data: Uint8Array; readonly dims: readonly number[] }
  | { readonly type: 'uint8'; readonly data: Uint8Array; readonly dims: readonly number[] };

export type TensorMap = Readonly<Record<string, TensorData>>;

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function f32(data: Float32Array, dims: readonly number[]): TensorData {
  checkLength(data.length, dims);
  return { type: 'float32', data, dims };
}

export function i64(values: ArrayLike<number>, dims: readonly number[]): TensorData {
  checkLength(values.length, dims);
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = BigInt(Math.trunc(values[i] ?? 0));
  return { type: 'int64', data, dims };
}

export function i32(values: ArrayLike<number>, dims: readonly number[]): TensorData {
  checkLength(values.length, dims);
  return { type: 'int32', data: Int32Array.from(values), dims };
}

function checkLength(n: number, dims: readonly number[]): void {
  const want = elementCount(dims);
  if (n !== want)
    throw new RangeError(`tensor data has ${n} elements but dims [${dims.join(', ')}] need ${want}`);
}

/** Reads any numeric tensor as float32 (bool → 0/1, int64 → Number). */
export function asFloat32(t: TensorData): Float32Array {
  if (t.type === 'float32') return t.data;
  if (t.type === 'float16') return float16ToFloat32(t.data);
  const out = new Float32Array(t.data.length);
  for (let i = 0; i < t.data.length; i++) out[i] = Number(t.data[i] ?? 0);
  return out;
}

/** IEEE 754 half → single precision. */
export function float16ToFloat32(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const v = h[i] ?? 0;
    const s = v & 0x8000 ? -1 : 1;
    const e = (v >> 10) & 0x1f;
    const f = v & 0x3ff;
    out[i] =
      e === 0
        ? s * 2 ** -14 * (f / 1024)
        : e === 31
          ? f
            ? NaN
            : s * Infinity
          : s * 2 ** (e - 15) * (1 + f / 1024);
  }
  return out;
}

/** Single → half precision, round to nearest even (for fp16 model inputs). */
export function float32ToFloat16(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < x.length; i++) {
    f[0] = x[i] ?? 0;
    const bits = u[0] ?? 0;
    const sign = (bits >>> 16) & 0x8000;
    const exp = (bits >>> 23) & 0xff;
    let mant = bits & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let half = mant >> shift;
      const rem = mant & ((1 << shift) - 1);
      const mid = 1 << (shift - 1);
      if (rem > mid || (rem === mid && half & 1)) half++;
      out[i] = sign | half;
      continue;
    }
    let half = (e << 10) | (mant >> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
    out[i] = sign | half;
  }
  return out;
}
