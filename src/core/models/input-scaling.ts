/**
 * What an encoder graph does to its input before the network proper, decided from the graph itself
 * (shared model-contracts.md, the `schmuell` open question): some exports normalise in the graph
 * (samexporter `--use-preprocess`, or a graph fed `Tensor.fromImage`'s 0–1 pixels), others expect the
 * caller to normalise. The app walks from the input through the elementwise operations that precede the
 * first real layer, composes them into one per-channel affine map `x ↦ a·x + b`, and feeds whatever makes
 * that map produce SAM's normalised input — so the network sees the same values either way. What was
 * found is recorded with the model's provenance (and so with every result).
 */
import type { OnnxHeader } from './onnx-header';

export interface InputScaling {
  /** `none`: the graph's first layer takes its input as is, so the app normalises. */
  readonly kind: 'none' | 'affine' | 'unknown';
  /** Per RGB channel: the graph computes `scale·x + offset` before its first layer. */
  readonly scale: readonly [number, number, number];
  readonly offset: readonly [number, number, number];
  /** The operations found, e.g. `Sub [123.675, 116.28, 103.53] → Div [58.395, 57.12, 57.375]`. */
  readonly ops: string;
  /** What the app feeds, in words: `normalised (x − mean)/std`, `RGB 0–255`, `RGB 0–1`, `custom`. */
  readonly feeds: string;
}

/** SAM's (and SAM 2's, on the 0–255 scale) normalisation: (x − mean) / std. */
export const SAM_MEAN_255 = [123.675, 116.28, 103.53] as const;
export const SAM_STD_255 = [58.395, 57.12, 57.375] as const;

const ID: readonly [number, number, number] = [1, 1, 1];
const ZERO: readonly [number, number, number] = [0, 0, 0];

export const NO_SCALING: InputScaling = {
  kind: 'none',
  scale: ID,
  offset: ZERO,
  ops: 'none before the first layer',
  feeds: 'normalised (x − mean)/std by the app',
};

/** An ORT-format file (flatbuffers) cannot be read here: assume the contract's usual input. */
export const UNKNOWN_SCALING: InputScaling = {
  ...NO_SCALING,
  kind: 'unknown',
  ops: 'not readable (ORT format)',
  feeds: 'normalised (x − mean)/std by the app (assumed)',
};

/** Operations that move or copy values without changing them. */
const PASS = new Set(['Cast', 'Transpose', 'Reshape', 'Unsqueeze', 'Squeeze', 'Identity', 'Pad', 'Flatten']);
const AFFINE = new Set(['Sub', 'Add', 'Mul', 'Div']);

const fmt = (v: readonly number[]) =>
  v.length === 1 ? String(+(v[0] ?? 0).toPrecision(6)) : `[${v.map((x) => +x.toPrecision(6)).join(', ')}]`;

/**
 * Follows the encoder input through pass-through and affine nodes with small constant operands (one
 * value, or one per channel) up to the first other node, and composes the affine steps.
 */
export function detectInputScaling(header: OnnxHeader, inputName?: string): InputScaling {
  if (header.format === 'ort') return UNKNOWN_SCALING;
  let cur = inputName ?? header.inputs[0];
  if (cur === undefined) return NO_SCALING;
  const a = [1, 1, 1];
  const b = [0, 0, 0];
  const ops: string[] = [];
  for (let guard = 0; guard < 64; guard++) {
    const name: string = cur;
    // Shape-only consumers (Shape, Size) read the dims, not the values: they do not change what flows.
    const users = header.nodes.filter(
      (n) => n.inputs.includes(name) && n.opType !== 'Shape' && n.opType !== 'Size',
    );
    if (users.length !== 1) break;
    const n = users[0];
    const out = n?.outputs[0];
    if (!n || out === undefined || (n.domain !== '' && n.domain !== 'ai.onnx')) break;
    if (PASS.has(n.opType)) {
      // Pad and Reshape take their extra inputs as shapes/pads, not as values to combine.
      if (n.inputs[0] !== name) break;
      cur = out;
      continue;
    }
    if (!AFFINE.has(n.opType) || n.inputs.length !== 2) break;
    const first = n.inputs[0] === name;
    const other = first ? n.inputs[1] : n.inputs[0];
    const c = other === undefined ? undefined : header.constants[other];
    if (!c || (c.length !== 1 && c.length !== 3)) break;
    const k = (i: number) => (c.length === 1 ? (c[0] ?? 0) : (c[i] ?? 0));
    // const / x is not affine, and x / 0 is not invertible: the network starts there.
    if (n.opType === 'Div' && (!first || [0, 1, 2].some((i) => k(i) === 0))) break;
    for (let i = 0; i < 3; i++) {
      const ai = a[i] ?? 1;
      const bi = b[i] ?? 0;
      const ki = k(i);
      if (n.opType === 'Add') b[i] = bi + ki;
      else if (n.opType === 'Sub' && first) b[i] = bi - ki;
      else if (n.opType === 'Sub') {
        a[i] = -ai;
        b[i] = ki - bi;
      } else if (n.opType === 'Mul') {
        a[i] = ai * ki;
        b[i] = bi * ki;
      } else {
        a[i] = ai / ki;
        b[i] = bi / ki;
      }
    }
    ops.push(`${n.opType} ${fmt(c)}`);
    cur = out;
  }
  return finish(a, b, ops);
}

function finish(a: number[], b: number[], ops: string[]): InputScaling {
  if (ops.length === 0) return NO_SCALING;
  const scale = [a[0] ?? 1, a[1] ?? 1, a[2] ?? 1] as const;
  const offset = [b[0] ?? 0, b[1] ?? 0, b[2] ?? 0] as const;
  const near = (x: number, y: number) => Math.abs(x - y) <= 1e-3 * Math.max(1, Math.abs(y));
  const is = (s: number) =>
    [0, 1, 2].every(
      (i) =>
        near(scale[i] ?? 0, s / (SAM_STD_255[i] ?? 1)) &&
        near(offset[i] ?? 0, -(SAM_MEAN_255[i] ?? 0) / (SAM_STD_255[i] ?? 1)),
    );
  const feeds = is(1)
    ? 'RGB 0–255 (the graph normalises)'
    : is(255)
      ? 'RGB 0–1 (the graph normalises)'
      : 'custom';
  return {
    kind: 'affine',
    scale,
    offset,
    ops: ops.join(' → '),
    feeds:
      feeds === 'custom'
        ? `values the graph's own affine map (${fmt(scale)}·x + ${fmt(offset)}) turns into SAM's normalised input`
        : feeds,
  };
}

/**
 * What to feed so that the graph's affine map yields `normalised` (SAM's (x − mean)/std value):
 * x = (normalised − offset) / scale, per channel.
 */
export function feedValue(s: InputScaling, channel: number, normalised: number): number {
  if (s.kind !== 'affine') return normalised;
  const a = s.scale[channel] ?? 1;
  return (normalised - (s.offset[channel] ?? 0)) / (a === 0 ? 1 : a);
}
