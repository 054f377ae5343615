/**
 * A minimal, strict reader of an ONNX ModelProto's top level and its graph's input/output names,
 * without any runtime: enough to check that bytes are a model (not an HTML error page or a truncated
 * download), to recognise a dropped file's contract before creating a session, to list external-data
 * files it needs, and to spot the project's own test fixtures by their producer name.
 * ORT-format files (flatbuffers, "ORTM" at byte 4) are recognised but not parsed.
 */
import { AppError } from '../errors';

export interface OnnxHeader {
  readonly format: 'onnx' | 'ort';
  readonly irVersion?: number;
  readonly producerName?: string;
  readonly producerVersion?: string;
  readonly docString?: string;
  readonly opsets: readonly { readonly domain: string; readonly version: number }[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Initializers stored outside the file (`location` of external_data), by file name. */
  readonly externalDataFiles: readonly string[];
  /** The graph's inputs (initializers excluded) with element type and declared dims. */
  readonly inputInfo: readonly ValueInfo[];
  /** The graph's nodes in file order (op type and tensor names only). */
  readonly nodes: readonly NodeInfo[];
  /**
   * Values of small constant tensors (initializers and `Constant` nodes with at most
   * {@link SMALL_CONST} float, float16, double or integer elements), by tensor name.
   */
  readonly constants: Readonly<Record<string, readonly number[]>>;
}

/** ONNX TensorProto element types, as names (`unknown(N)` for the rest). */
export type ElemTypeName =
  | 'float32'
  | 'uint8'
  | 'int8'
  | 'int32'
  | 'int64'
  | 'bool'
  | 'float16'
  | 'float64'
  | 'bfloat16'
  | `unknown(${number})`;

export interface ValueInfo {
  readonly name: string;
  readonly elemType: ElemTypeName;
  /** Declared dims: a number when fixed, the symbol's name when symbolic, `?` when neither. */
  readonly dims: readonly (number | string)[];
}

export interface NodeInfo {
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

export const SMALL_CONST = 64;

const ELEM_TYPES: Readonly<Record<number, ElemTypeName>> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  16: 'bfloat16',
};
export const elemTypeName = (t: number): ElemTypeName => ELEM_TYPES[t] ?? `unknown(${t})`;

export const FIXTURE_PRODUCER_NAME = 'sam-compare-contract-fixture';

class Reader {
  pos: number;
  constructor(
    readonly b: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }
  get done(): boolean {
    return this.pos >= this.end;
  }
  varint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw truncated('varint');
      const byte = this.b[this.pos++] ?? 0;
      if (shift < 49) result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
    }
    throw corrupt('varint longer than 10 bytes');
  }
  bytes(): { start: number; end: number } {
    const len = this.varint();
    const start = this.pos;
    const end = start + len;
    if (end > this.end) throw truncated(`field of ${len} bytes`);
    this.pos = end;
    return { start, end };
  }
  string(): string {
    const { start, end } = this.bytes();
    return new TextDecoder().decode(this.b.subarray(start, end));
  }
  signedVarint(): number {
    // int64 values of small constants: two's complement over 64 bits, read as a float (exact to 2^53).
    const start = this.pos;
    const v = this.varint();
    const len = this.pos - start;
    return len === 10 ? v - 2 ** 64 : v;
  }
  float32(): number {
    if (this.pos + 4 > this.end) throw truncated('float');
    const v = new DataView(this.b.buffer, this.b.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }
  float64(): number {
    if (this.pos + 8 > this.end) throw truncated('double');
    const v = new DataView(this.b.buffer, this.b.byteOffset + this.pos, 8).getFloat64(0, true);
    this.pos += 8;
    return v;
  }
  /** A packed repeated field: calls `item` with a reader over its bytes until they are consumed. */
  packed(item: (sub: Reader) => void): void {
    const { start, end } = this.bytes();
    const sub = new Reader(this.b, start, end);
    while (!sub.done) item(sub);
  }
  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint();
        return;
      case 1:
        this.advance(8);
        return;
      case 2:
        this.bytes();
        return;
      case 5:
        this.advance(4);
        return;
      default:
        throw corrupt(`wire type ${wire}`);
    }
  }
  private advance(n: number): void {
    if (this.pos + n > this.end) throw truncated('fixed-width field');
    this.pos += n;
  }
}

function truncated(what: string): AppError {
  return new AppError(
    'model-integrity',
    `The model file is truncated (ends inside a ${what}). Download it again.`,
    {
      subject: 'model-file',
      detail: what,
    },
  );
}
function corrupt(what: string): AppError {
  return new AppError(
    'model-integrity',
    `The model file is damaged (${what}). Download it again or pick another file.`,
    {
      subject: 'model-file',
      detail: what,
    },
  );
}

/** Looks like text (an HTML error page, a JSON error, a Git LFS pointer) rather than a binary model. */
export function describeNonModel(b: Uint8Array): string | null {
  const head = new TextDecoder('latin1').decode(b.subarray(0, 200)).trimStart().toLowerCase();
  if (head.startsWith('<!doctype html') || head.startsWith('<html') || head.startsWith('<'))
    return 'an HTML page';
  if (head.startsWith('{') || head.startsWith('[')) return 'a JSON document';
  if (head.startsWith('version https://git-lfs')) return 'a Git LFS pointer';
  if (head.startsWith('entry not found') || head.startsWith('not found') || head.startsWith('error'))
    return 'an error message';
  return null;
}

export function isOrtFormat(b: Uint8Array): boolean {
  return b.length >= 8 && b[4] === 0x4f && b[5] === 0x52 && b[6] === 0x54 && b[7] === 0x4d; // "ORTM"
}

/** ValueInfoProto: name (1), type (2) → TypeProto.tensor_type (1) → elem_type (1), shape (2) → dim (1). */
function valueInfo(r: Reader, range: { start: number; end: number }): ValueInfo {
  const v = new Reader(r.b, range.start, range.end);
  let name = '';
  let elemType: ElemTypeName = 'unknown(0)';
  const dims: (number | string)[] = [];
  while (!v.done) {
    const key = v.varint();
    if (key === (1 << 3) + 2) name = v.string();
    else if (key === (2 << 3) + 2) {
      const t = v.bytes();
      const parsed = lenient(() => tensorType(r, t));
      if (parsed) {
        elemType = parsed.elemType;
        dims.push(...parsed.dims);
      }
    } else v.skip(key & 7);
  }
  return { name, elemType, dims };
}

/** TypeProto → tensor_type (1) → elem_type (1), shape (2) → dim (1) → dim_value (1) | dim_param (2). */
function tensorType(
  r: Reader,
  t: { start: number; end: number },
): { elemType: ElemTypeName; dims: (number | string)[] } {
  let elemType: ElemTypeName = 'unknown(0)';
  const dims: (number | string)[] = [];
  const tr = new Reader(r.b, t.start, t.end);
  while (!tr.done) {
    const tk = tr.varint();
    if (tk !== (1 << 3) + 2) {
      tr.skip(tk & 7);
      continue;
    }
    const tt = tr.bytes();
    const ttr = new Reader(r.b, tt.start, tt.end);
    while (!ttr.done) {
      const k = ttr.varint();
      if (k === (1 << 3) + 0) elemType = elemTypeName(ttr.varint());
      else if (k === (2 << 3) + 2) {
        const sh = ttr.bytes();
        const sr = new Reader(r.b, sh.start, sh.end);
        while (!sr.done) {
          const dk = sr.varint();
          if (dk !== (1 << 3) + 2) {
            sr.skip(dk & 7);
            continue;
          }
          const d = sr.bytes();
          const dr = new Reader(r.b, d.start, d.end);
          let dim: number | string = '?';
          while (!dr.done) {
            const k2 = dr.varint();
            if (k2 === (1 << 3) + 0) dim = dr.varint();
            else if (k2 === (2 << 3) + 2) dim = dr.string();
            else dr.skip(k2 & 7);
          }
          dims.push(dim);
        }
      } else ttr.skip(k & 7);
    }
  }
  return { elemType, dims };
}

function lenient<T>(f: () => T): T | null {
  try {
    return f();
  } catch {
    return null;
  }
}

/** NodeProto: input (1), output (2), op_type (4), attribute (5: a `Constant`'s value), domain (7). */
function nodeInfo(
  r: Reader,
  range: { start: number; end: number },
  constants: Record<string, number[]>,
): NodeInfo {
  const n = new Reader(r.b, range.start, range.end);
  const inputs: string[] = [];
  const outputs: string[] = [];
  let opType = '';
  let domain = '';
  let value: number[] | null = null;
  while (!n.done) {
    const key = n.varint();
    if (key === (1 << 3) + 2) inputs.push(n.string());
    else if (key === (2 << 3) + 2) outputs.push(n.string());
    else if (key === (4 << 3) + 2) opType = n.string();
    else if (key === (7 << 3) + 2) domain = n.string();
    else if (key === (5 << 3) + 2) {
      // AttributeProto: name (1), f (2, float), t (5, tensor).
      const a = n.bytes();
      const ar = new Reader(r.b, a.start, a.end);
      let aname = '';
      let t: number[] | null = null;
      let f: number | null = null;
      while (!ar.done) {
        const k = ar.varint();
        if (k === (1 << 3) + 2) aname = ar.string();
        else if (k === (5 << 3) + 2) t = smallTensor(ar, ar.bytes()).values;
        else if (k === (2 << 3) + 5) f = ar.float32();
        else ar.skip(k & 7);
      }
      if (aname === 'value' && t) value = t;
      if (aname === 'value_float' && f !== null) value = [f];
    } else n.skip(key & 7);
  }
  if (opType === 'Constant' && value && outputs[0] !== undefined) constants[outputs[0]] = value;
  return { opType, domain, inputs, outputs };
}

/**
 * TensorProto: dims (1), data_type (2), float_data (4), int32_data (5, also float16 bits), int64_data (7),
 * name (8), raw_data (9), double_data (10). Values only for small numeric tensors stored in the file.
 */
function smallTensor(
  r: Reader,
  range: { start: number; end: number },
): { name: string; values: number[] | null } {
  const t = new Reader(r.b, range.start, range.end);
  let name = '';
  let type = 0;
  const dims: number[] = [];
  let raw: { start: number; end: number } | null = null;
  const floats: number[] = [];
  const ints: number[] = [];
  while (!t.done) {
    const key = t.varint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === 0) dims.push(t.varint());
    else if (field === 1 && wire === 2) t.packed((p) => dims.push(p.varint()));
    else if (field === 2 && wire === 0) type = t.varint();
    else if (field === 8 && wire === 2) name = t.string();
    else if (field === 9 && wire === 2) raw = t.bytes();
    else if (field === 4 && wire === 2) t.packed((p) => floats.push(p.float32()));
    else if (field === 4 && wire === 5) floats.push(t.float32());
    else if (field === 10 && wire === 2) t.packed((p) => floats.push(p.float64()));
    else if (field === 10 && wire === 1) floats.push(t.float64());
    else if ((field === 5 || field === 7) && wire === 2) t.packed((p) => ints.push(p.signedVarint()));
    else if ((field === 5 || field === 7) && wire === 0) ints.push(t.signedVarint());
    else t.skip(wire);
  }
  const count = dims.reduce((a, d) => a * d, 1);
  if (count > SMALL_CONST) return { name, values: null };
  if (raw) {
    const width: Readonly<Record<number, number>> = { 1: 4, 10: 2, 11: 8, 6: 4, 7: 8, 2: 1, 3: 1 };
    const w = width[type];
    if (!w || raw.end - raw.start !== count * w) return { name, values: null };
    const dv = new DataView(r.b.buffer, r.b.byteOffset + raw.start, raw.end - raw.start);
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      const o = i * w;
      if (type === 1) out.push(dv.getFloat32(o, true));
      else if (type === 10) out.push(halfToNumber(dv.getUint16(o, true)));
      else if (type === 11) out.push(dv.getFloat64(o, true));
      else if (type === 6) out.push(dv.getInt32(o, true));
      else if (type === 7) out.push(Number(dv.getBigInt64(o, true)));
      else if (type === 2) out.push(dv.getUint8(o));
      else out.push(dv.getInt8(o));
    }
    return { name, values: out };
  }
  if (type === 10) return { name, values: ints.length === count ? ints.map(halfToNumber) : null };
  const vals = floats.length ? floats : ints;
  return { name, values: vals.length === count ? vals : null };
}

function halfToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function externalLocation(r: Reader, range: { start: number; end: number }): string | null {
  // TensorProto: external_data = 13 (repeated StringStringEntryProto), data_location = 14 (1 = EXTERNAL).
  const t = new Reader(r.b, range.start, range.end);
  let location: string | null = null;
  let external = false;
  while (!t.done) {
    const key = t.varint();
    const field = key >>> 3;
    if (field === 13 && (key & 7) === 2) {
      const e = t.bytes();
      const kv = new Reader(r.b, e.start, e.end);
      let k = '';
      let val = '';
      while (!kv.done) {
        const kk = kv.varint();
        if (kk === (1 << 3) + 2) k = kv.string();
        else if (kk === (2 << 3) + 2) val = kv.string();
        else kv.skip(kk & 7);
      }
      if (k === 'location') location = val;
    } else if (field === 14 && (key & 7) === 0) {
      external = t.varint() === 1;
    } else {
      t.skip(key & 7);
    }
  }
  return external && location ? location : null;
}

/** Parses the header of an ONNX (or recognises an ORT-format) model; throws a typed error otherwise. */
export function readOnnxHeader(b: Uint8Array): OnnxHeader {
  if (b.length < 16)
    throw new AppError('model-integrity', `The model file is missing or damaged: only ${b.length} bytes.`, {
      subject: 'model-file',
    });
  const nonModel = describeNonModel(b);
  if (nonModel) {
    throw new AppError(
      'model-missing',
      `Model file missing or damaged: the server sent ${nonModel} instead of a model. Check the model host and file name.`,
      {
        subject: 'model-file',
        detail: nonModel,
      },
    );
  }
  if (isOrtFormat(b))
    return {
      format: 'ort',
      opsets: [],
      metadata: {},
      inputs: [],
      outputs: [],
      externalDataFiles: [],
      inputInfo: [],
      nodes: [],
      constants: {},
    };
  // ModelProto starts with ir_version (field 1, varint): the byte 0x08 is ONNX's de facto magic.
  if (b[0] !== 0x08) throw corrupt('it does not start like an ONNX ModelProto');
  const r = new Reader(b, 0, b.length);
  let irVersion: number | undefined;
  let producerName: string | undefined;
  let producerVersion: string | undefined;
  let docString: string | undefined;
  const opsets: { domain: string; version: number }[] = [];
  const metadata: Record<string, string> = {};
  let inputInfo: ValueInfo[] = [];
  let outputs: string[] = [];
  const nodes: NodeInfo[] = [];
  const constants: Record<string, number[]> = {};
  const external = new Set<string>();
  let sawGraph = false;
  while (!r.done) {
    const key = r.varint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === 0) irVersion = r.varint();
    else if (field === 2 && wire === 2) producerName = r.string();
    else if (field === 3 && wire === 2) producerVersion = r.string();
    else if (field === 6 && wire === 2) docString = r.string();
    else if (field === 8 && wire === 2) {
      const o = r.bytes();
      const or = new Reader(b, o.start, o.end);
      let domain = '';
      let version = 0;
      while (!or.done) {
        const k = or.varint();
        if (k === (1 << 3) + 2) domain = or.string();
        else if (k === (2 << 3) + 0) version = or.varint();
        else or.skip(k & 7);
      }
      opsets.push({ domain, version });
    } else if (field === 14 && wire === 2) {
      const m = r.bytes();
      const mr = new Reader(b, m.start, m.end);
      let k = '';
      let v = '';
      while (!mr.done) {
        const kk = mr.varint();
        if (kk === (1 << 3) + 2) k = mr.string();
        else if (kk === (2 << 3) + 2) v = mr.string();
        else mr.skip(kk & 7);
      }
      metadata[k] = v;
    } else if (field === 7 && wire === 2) {
      sawGraph = true;
      const g = r.bytes();
      const gr = new Reader(b, g.start, g.end);
      const ins: ValueInfo[] = [];
      const outs: string[] = [];
      const inits = new Set<string>();
      while (!gr.done) {
        const k = gr.varint();
        const f = k >>> 3;
        if ((k & 7) !== 2) {
          gr.skip(k & 7);
          continue;
        }
        const sub = gr.bytes();
        if (f === 11) ins.push(valueInfo(gr, sub));
        else if (f === 12) outs.push(valueInfo(gr, sub).name);
        else if (f === 1) {
          // Node details serve diagnostics (input scaling); a node that cannot be read is left out
          // rather than refusing a file the runtime may still judge for itself.
          const n = lenient(() => nodeInfo(gr, sub, constants));
          if (n) nodes.push(n);
        } else if (f === 5) {
          const loc = externalLocation(gr, sub);
          if (loc) external.add(loc);
          const t = lenient(() => smallTensor(gr, sub));
          if (t) {
            inits.add(t.name);
            if (t.values) constants[t.name] = t.values;
          }
        }
      }
      // Older exporters list initializers among the inputs; they are not inputs a caller feeds.
      inputInfo = ins.filter((v) => !inits.has(v.name));
      outputs = outs;
    } else {
      r.skip(wire);
    }
  }
  if (irVersion === undefined || irVersion < 1 || irVersion > 20)
    throw corrupt(`implausible ir_version ${irVersion ?? 'missing'}`);
  if (!sawGraph) throw truncated('model without a graph');
  return {
    format: 'onnx',
    irVersion,
    ...(producerName === undefined ? {} : { producerName }),
    ...(producerVersion === undefined ? {} : { producerVersion }),
    ...(docString === undefined ? {} : { docString }),
    opsets,
    metadata,
    inputs: inputInfo.map((v) => v.name),
    outputs,
    externalDataFiles: [...external],
    inputInfo,
    nodes,
    constants,
  };
}

export function isTestFixture(h: Pick<OnnxHeader, 'producerName' | 'metadata'>): boolean {
  return h.producerName === FIXTURE_PRODUCER_NAME || h.metadata['fixture'] === 'true';
}

/**
 * ORT-format files (flatbuffers) cannot be parsed here, but they keep the source model's producer name
 * as a plain string: the project's fixtures converted to ORT format are found by it, so they are
 * labelled "test fixture" like their ONNX twins.
 */
export function isOrtFixture(b: Uint8Array): boolean {
  if (!isOrtFormat(b)) return false;
  const needle = new TextEncoder().encode(FIXTURE_PRODUCER_NAME);
  const first = needle[0];
  outer: for (
    let i = b.indexOf(first ?? 0);
    i >= 0 && i <= b.length - needle.length;
    i = b.indexOf(first ?? 0, i + 1)
  ) {
    for (let j = 1; j < needle.length; j++) if (b[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}
