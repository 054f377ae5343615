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
}

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

function valueInfoName(r: Reader, range: { start: number; end: number }): string {
  const v = new Reader(r.b, range.start, range.end);
  let name = '';
  while (!v.done) {
    const key = v.varint();
    if (key === (1 << 3) + 2) name = v.string();
    else v.skip(key & 7);
  }
  return name;
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
    return { format: 'ort', opsets: [], metadata: {}, inputs: [], outputs: [], externalDataFiles: [] };
  // ModelProto starts with ir_version (field 1, varint): the byte 0x08 is ONNX's de facto magic.
  if (b[0] !== 0x08) throw corrupt('it does not start like an ONNX ModelProto');
  const r = new Reader(b, 0, b.length);
  let irVersion: number | undefined;
  let producerName: string | undefined;
  let producerVersion: string | undefined;
  let docString: string | undefined;
  const opsets: { domain: string; version: number }[] = [];
  const metadata: Record<string, string> = {};
  let inputs: string[] = [];
  let outputs: string[] = [];
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
      const ins: string[] = [];
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
        if (f === 11) ins.push(valueInfoName(gr, sub));
        else if (f === 12) outs.push(valueInfoName(gr, sub));
        else if (f === 5) {
          const loc = externalLocation(gr, sub);
          if (loc) external.add(loc);
          const tr = new Reader(b, sub.start, sub.end);
          while (!tr.done) {
            const tk = tr.varint();
            if (tk === (8 << 3) + 2) inits.add(tr.string());
            else tr.skip(tk & 7);
          }
        }
      }
      // Older exporters list initializers among the inputs; they are not inputs a caller feeds.
      inputs = ins.filter((n) => !inits.has(n));
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
    inputs,
    outputs,
    externalDataFiles: [...external],
  };
}

export function isTestFixture(h: Pick<OnnxHeader, 'producerName' | 'metadata'>): boolean {
  return h.producerName === FIXTURE_PRODUCER_NAME || h.metadata['fixture'] === 'true';
}
