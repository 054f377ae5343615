import * as ort from 'onnxruntime-web';
import { AppError } from '../core/errors';
import type { TensorData, TensorMap } from '../core/tensor';

/** core TensorData → onnxruntime tensor (shares the buffer; no copy). */
export function toOrt(t: TensorData): ort.Tensor {
  switch (t.type) {
    case 'float32':
      return new ort.Tensor('float32', t.data, t.dims);
    case 'float16':
      return new ort.Tensor('float16', t.data, t.dims);
    case 'int64':
      return new ort.Tensor('int64', t.data, t.dims);
    case 'int32':
      return new ort.Tensor('int32', t.data, t.dims);
    case 'bool':
      return new ort.Tensor('bool', t.data, t.dims);
    case 'uint8':
      return new ort.Tensor('uint8', t.data, t.dims);
  }
}

/** A copy with its own buffer (exactly the view's bytes), safe to transfer to another worker. */
export function copyTensorData(t: TensorData): TensorData {
  switch (t.type) {
    case 'float32':
      return { type: t.type, data: t.data.slice(), dims: [...t.dims] };
    case 'float16':
      return { type: t.type, data: t.data.slice(), dims: [...t.dims] };
    case 'int64':
      return { type: t.type, data: t.data.slice(), dims: [...t.dims] };
    case 'int32':
      return { type: t.type, data: t.data.slice(), dims: [...t.dims] };
    case 'bool':
    case 'uint8':
      return { type: t.type, data: t.data.slice(), dims: [...t.dims] };
  }
}

/** onnxruntime tensor on the CPU → core TensorData. GPU-resident tensors must be downloaded first. */
export function fromOrt(name: string, t: ort.Tensor): TensorData {
  if (t.location !== 'cpu' && t.location !== 'cpu-pinned') {
    throw new AppError(
      'internal',
      `Output '${name}' lives on the ${t.location}; download it before reading.`,
      { subject: name },
    );
  }
  const dims = [...t.dims];
  const d = t.data;
  if (t.type === 'float32' && d instanceof Float32Array) return { type: 'float32', data: d, dims };
  if (t.type === 'float16' && d instanceof Uint16Array) return { type: 'float16', data: d, dims };
  // Where the browser has Float16Array, onnxruntime returns float16 outputs as one: same bits.
  if (t.type === 'float16' && ArrayBuffer.isView(d) && !(d instanceof DataView) && d.byteLength % 2 === 0)
    return { type: 'float16', data: new Uint16Array(d.buffer, d.byteOffset, d.byteLength / 2), dims };
  if (t.type === 'int64' && d instanceof BigInt64Array) return { type: 'int64', data: d, dims };
  if (t.type === 'int32' && d instanceof Int32Array) return { type: 'int32', data: d, dims };
  if (t.type === 'bool' && d instanceof Uint8Array) return { type: 'bool', data: d, dims };
  if (t.type === 'uint8' && d instanceof Uint8Array) return { type: 'uint8', data: d, dims };
  throw new AppError('tensor-mismatch', `Output '${name}' has unsupported type ${t.type}.`, {
    subject: name,
  });
}

export async function downloadAll(out: Readonly<Record<string, ort.Tensor>>): Promise<TensorMap> {
  const res: Record<string, TensorData> = {};
  for (const [k, v] of Object.entries(out)) {
    if (v.location === 'gpu-buffer') {
      const data = await v.getData(true);
      res[k] = fromOrt(k, new ort.Tensor(v.type as 'float32', data as Float32Array, v.dims));
    } else {
      res[k] = fromOrt(k, v);
    }
  }
  return res;
}

export interface InputSpec {
  readonly name: string;
  readonly type: string;
  readonly shape: readonly (number | string)[];
}

export function inputSpecs(session: ort.InferenceSession): InputSpec[] {
  return session.inputMetadata.map((m) =>
    m.isTensor
      ? { name: m.name, type: m.type, shape: [...m.shape] }
      : { name: m.name, type: 'non-tensor', shape: [] },
  );
}

const fmtShape = (s: readonly (number | string)[]) => `[${s.join(', ')}]`;

/**
 * Checks feeds against the graph's declared inputs before running, so a wrong dtype or shape becomes a
 * typed error naming the input instead of an opaque runtime failure.
 */
export function validateFeeds(
  specs: readonly InputSpec[],
  feeds: Readonly<Record<string, { type: string; dims: readonly number[] }>>,
): void {
  for (const spec of specs) {
    const f = feeds[spec.name];
    if (!f) {
      throw new AppError(
        'tensor-mismatch',
        `Missing model input '${spec.name}' (${spec.type} ${fmtShape(spec.shape)}).`,
        { subject: spec.name },
      );
    }
    if (spec.type !== 'non-tensor' && f.type !== spec.type) {
      throw new AppError(
        'tensor-mismatch',
        `Model input '${spec.name}' must be ${spec.type} ${fmtShape(spec.shape)}, got ${f.type} ${fmtShape(f.dims)}.`,
        { subject: spec.name },
      );
    }
    if (spec.shape.length > 0) {
      const ok =
        spec.shape.length === f.dims.length &&
        spec.shape.every((d, i) => typeof d !== 'number' || d < 0 || d === f.dims[i]);
      if (!ok) {
        throw new AppError(
          'tensor-mismatch',
          `Model input '${spec.name}' must have shape ${fmtShape(spec.shape)}, got ${fmtShape(f.dims)}.`,
          { subject: spec.name },
        );
      }
    }
  }
  for (const name of Object.keys(feeds)) {
    if (!specs.some((s) => s.name === name)) {
      throw new AppError('tensor-mismatch', `The model has no input '${name}'.`, { subject: name });
    }
  }
}
