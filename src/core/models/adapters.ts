import { AppError } from '../errors';
import { imagePx, imageToModel, MODEL_SIDE, modelFrame, type ModelFrame, type Size } from '../geometry';
import type { Rgb8Image } from '../image/types';
import type { PromptSet } from '../prompts/types';
import { asFloat32, f32, float32ToFloat16, i64, type TensorData, type TensorMap } from '../tensor';
import { CONTRACTS, type ContractId } from './contracts';
import { feedValue, NO_SCALING, type InputScaling } from './input-scaling';
import { maskAndArea, resizeRgbToPlanar, upsampleToMask } from './resample';

const MEAN_255 = [123.675, 116.28, 103.53] as const;
const STD_255 = [58.395, 57.12, 57.375] as const;
export const LOW_RES = 256;

export interface EncoderOptions {
  /** sam1-meta encoder exported with `--use-preprocess` (input [H', W', 3], raw 0–255, resized). */
  readonly preprocessInGraph?: boolean;
  /**
   * Element type the encoder input expects: fp16 exports without kept I/O types take float16; some
   * preprocess-in-graph exports take the resized image as uint8.
   */
  readonly inputType?: 'float32' | 'float16' | 'uint8';
  /** What the graph does to its input before its first layer (detected from the graph). */
  readonly scaling?: InputScaling;
}

export interface EncoderFeeds {
  readonly feeds: TensorMap;
  readonly frame: ModelFrame;
}

const ENCODER_INPUT: Record<ContractId, string> = {
  'sam1-meta': 'input_image',
  'sam2-samexporter': 'image',
  'hf-sam': 'pixel_values',
  'hf-sam2': 'pixel_values',
};

/**
 * Preprocessing, per contract, from an 8-bit RGB slice to the encoder's input tensor:
 * - sam1-meta: longest side → 1024 (uint8 resample), (x − mean)/std in 0–255 units, zero pad bottom/right.
 * - hf-sam: the same with transformers.js' floor rounding of the resized side, /255 then ImageNet mean/std.
 * - sam2-samexporter: stretch to 1024² (float resample), /255, ImageNet mean/std.
 * - hf-sam2: stretch to 1024² (SAM 2's training resize, whatever a processor's defaults say), /255, mean/std.
 */
export function encoderFeeds(contract: ContractId, rgb: Rgb8Image, opts: EncoderOptions = {}): EncoderFeeds {
  if (rgb.data.length !== rgb.width * rgb.height * 3) {
    throw new AppError(
      'invalid-argument',
      `RGB buffer holds ${rgb.data.length} bytes, expected ${rgb.width * rgb.height * 3}.`,
      {
        subject: 'image',
      },
    );
  }
  const info = CONTRACTS[contract];
  const frame = modelFrame(info.frame, rgb);
  const { width: rw, height: rh } = frame.resized;
  const round8 = contract !== 'sam2-samexporter';
  const planar = resizeRgbToPlanar(rgb, rw, rh, round8);
  const name = ENCODER_INPUT[contract];

  const scaling = opts.scaling ?? NO_SCALING;
  // SAM's normalised value of a raw 0–255 sample, turned into what this graph wants fed for it.
  const feed = (c: number, raw: number) =>
    feedValue(scaling, c, (raw - (MEAN_255[c] ?? 0)) / (STD_255[c] ?? 1));

  if (contract === 'sam1-meta' && opts.preprocessInGraph) {
    // The graph normalises, transposes and pads itself: it takes the resized RGB image as it is (its
    // own affine steps, when they can be read, are inverted like any other graph's).
    const hwc = new Float32Array(rw * rh * 3);
    const n = rw * rh;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) {
        const raw = planar[c * n + i] ?? 0;
        hwc[3 * i + c] = scaling.kind === 'affine' ? feed(c, raw) : raw;
      }
    }
    return { frame, feeds: { [name]: cast(f32(hwc, [rh, rw, 3]), opts.inputType, name) } };
  }

  const S = MODEL_SIDE;
  const out = new Float32Array(3 * S * S);
  for (let c = 0; c < 3; c++) {
    const src = c * rw * rh;
    const dst = c * S * S;
    // Padding is zero after SAM's normalisation (Meta's Sam.preprocess pads the normalised image).
    out.fill(feedValue(scaling, c, 0), dst, dst + S * S);
    for (let y = 0; y < rh; y++) {
      for (let x = 0; x < rw; x++) out[dst + y * S + x] = feed(c, planar[src + y * rw + x] ?? 0);
    }
  }
  return { frame, feeds: { [name]: cast(f32(out, [1, 3, S, S]), opts.inputType, name) } };
}

function cast(t: TensorData, type: EncoderOptions['inputType'], name: string): TensorData {
  if (t.type !== 'float32' || type === undefined || type === 'float32') return t;
  if (type === 'float16') return { type: 'float16', data: float32ToFloat16(t.data), dims: t.dims };
  const u = new Uint8Array(t.data.length);
  for (let i = 0; i < t.data.length; i++) {
    const v = t.data[i] ?? 0;
    const r = Math.round(v);
    if (Math.abs(v - r) > 1e-3 || r < 0 || r > 255) {
      throw new AppError(
        'model-contract',
        `The encoder takes '${name}' as uint8, but its graph scales the input so that SAM's input would need ${v.toFixed(3)}: this export cannot be fed 8-bit pixels.`,
        { subject: name },
      );
    }
    u[i] = r;
  }
  return { type: 'uint8', data: u, dims: t.dims };
}

/** One decoder run and which prompt sets of the request it answers. */
export interface DecoderCall {
  readonly feeds: TensorMap;
  readonly setIndices: readonly number[];
  /** Points per set as the graph sees them (Meta's single-mask rule counts the padding point). */
  readonly pointsPerSet: number;
}

export interface DecodeRequest {
  readonly prompts: readonly PromptSet[];
  readonly frame: ModelFrame;
  /** Previous low-resolution logits per set (iterative refinement), 256×256 each. */
  readonly maskInputs?: readonly (Float32Array | undefined)[];
}

function pointsInFrame(
  frame: ModelFrame,
  p: PromptSet,
  boxAsPoints: boolean,
): { coords: number[]; labels: number[] } {
  const coords: number[] = [];
  const labels: number[] = [];
  for (const q of p.points) {
    const m = imageToModel(frame, q);
    coords.push(m.x, m.y);
    labels.push(q.label);
  }
  if (p.box && boxAsPoints) {
    const a = imageToModel(frame, imagePx(p.box.x0, p.box.y0));
    const b = imageToModel(frame, imagePx(p.box.x1, p.box.y1));
    coords.push(a.x, a.y, b.x, b.y);
    labels.push(2, 3);
  }
  return { coords, labels };
}

function requirePrompt(p: PromptSet, i: number): void {
  if (p.points.length === 0 && !p.box) {
    throw new AppError('invalid-argument', `Prompt set ${i} is empty: add a click or a box.`, {
      subject: 'prompts',
    });
  }
}

/**
 * Groups prompt sets that can share one batched call: same point count, same box presence, and the same
 * mask-input presence (samexporter's `has_mask_input` is one value for the whole call).
 */
function groupSets(prompts: readonly PromptSet[], hasMask: (i: number) => boolean): number[][] {
  const groups = new Map<string, number[]>();
  prompts.forEach((p, i) => {
    const k = `${p.points.length}|${p.box ? 1 : 0}|${hasMask(i) ? 1 : 0}`;
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  });
  return [...groups.values()];
}

/** Thrown for a box prompt on a transformers.js SAM graph without `input_boxes` (Xenova's `main`). */
export function noBoxInputError(): AppError {
  return new AppError(
    'unsupported-prompt',
    "This model's decoder has no box input (input_boxes): the Xenova SAM exports on the hub's main revision take clicks only. Box prompts are skipped for this model.",
    { subject: 'input_boxes' },
  );
}

/**
 * Decoder prompt feeds per contract (the caller adds the encoder outputs named in
 * CONTRACTS[contract].embeddingNames). Sets that share a point count are batched where the contract
 * allows (L > 1); sets are never padded with extra points, which would change what the model sees.
 */
export function decoderCalls(
  contract: ContractId,
  req: DecodeRequest,
  graphInputs: readonly string[],
): DecoderCall[] {
  req.prompts.forEach(requirePrompt);
  const { frame } = req;
  const L0 = LOW_RES * LOW_RES;
  const maskFor = (i: number) => req.maskInputs?.[i];

  if (contract === 'sam1-meta') {
    return req.prompts.map((p, i) => {
      const { coords, labels } = pointsInFrame(frame, p, true);
      if (!p.box) {
        coords.push(0, 0);
        labels.push(-1);
      }
      const N = labels.length;
      const m = maskFor(i);
      return {
        setIndices: [i],
        pointsPerSet: N,
        feeds: {
          point_coords: f32(Float32Array.from(coords), [1, N, 2]),
          point_labels: f32(Float32Array.from(labels), [1, N]),
          mask_input: f32(m ? Float32Array.from(m) : new Float32Array(L0), [1, 1, LOW_RES, LOW_RES]),
          has_mask_input: f32(Float32Array.of(m ? 1 : 0), [1]),
          orig_im_size: f32(Float32Array.of(frame.image.height, frame.image.width), [2]),
        },
      };
    });
  }

  if (contract === 'sam2-samexporter') {
    // `has_mask_input` is [1] whatever L is: the graph multiplies it into the downscaled masks
    // ([L, 256, 64, 64]), so an [L] tensor would broadcast against the last axis and fail for L > 1
    // (samexporter export_sam2.py; next-sam's _pr1 decoder declares it fixed [1]).
    return groupSets(req.prompts, (i) => maskFor(i) !== undefined).map((idx) => {
      const per = idx.map((i) => pointsInFrame(frame, req.prompts[i] as PromptSet, true));
      const L = idx.length;
      const N = per[0]?.labels.length ?? 0;
      const maskData = new Float32Array(L * L0);
      let has = 0;
      idx.forEach((i, l) => {
        const m = maskFor(i);
        if (m) {
          maskData.set(m, l * L0);
          has = 1;
        }
      });
      return {
        setIndices: idx,
        pointsPerSet: N,
        feeds: {
          point_coords: f32(Float32Array.from(per.flatMap((p) => p.coords)), [L, N, 2]),
          point_labels: f32(Float32Array.from(per.flatMap((p) => p.labels)), [L, N]),
          mask_input: f32(maskData, [L, 1, LOW_RES, LOW_RES]),
          has_mask_input: f32(Float32Array.of(has), [1]),
        },
      };
    });
  }

  // transformers.js layouts: input_points [1, L, N, 2], input_labels int64 [1, L, N], input_boxes [1, nb, 4].
  const hasBoxInput = graphInputs.includes('input_boxes');
  return groupSets(req.prompts, () => false).map((idx) => {
    const sets = idx.map((i) => req.prompts[i] as PromptSet);
    const withBox = sets[0]?.box !== undefined;
    if (withBox && !hasBoxInput) throw noBoxInputError();
    const per = sets.map((p) => {
      const r = pointsInFrame(frame, p, false);
      if (r.labels.length === 0 && contract === 'hf-sam') {
        // SAM (transformers' SamPromptEncoder) with a box only: one padding point (label −10), which
        // the prompt encoder zeroes out. SAM 2.1 takes zero points instead (transformers.js sends
        // input_points [B, 1, 0, 2] for a box-only prompt).
        r.coords.push(0, 0);
        r.labels.push(-10);
      }
      return r;
    });
    const L = idx.length;
    const N = per[0]?.labels.length ?? 0;
    const feeds: Record<string, TensorData> = {
      input_points: f32(Float32Array.from(per.flatMap((p) => p.coords)), [1, L, N, 2]),
      input_labels: i64(
        per.flatMap((p) => p.labels),
        [1, L, N],
      ),
    };
    if (hasBoxInput) {
      const boxes = withBox
        ? sets.flatMap((p) => {
            const b = p.box;
            if (!b) return [];
            const a = imageToModel(frame, imagePx(b.x0, b.y0));
            const c = imageToModel(frame, imagePx(b.x1, b.y1));
            return [a.x, a.y, c.x, c.y];
          })
        : [];
      feeds['input_boxes'] = f32(Float32Array.from(boxes), [1, withBox ? L : 0, 4]);
    }
    return { setIndices: idx, pointsPerSet: N, feeds };
  });
}

export interface MaskCandidate {
  readonly mask: Uint8Array;
  readonly predictedIou: number;
  readonly area: number;
}

export interface DecodedSet extends Size {
  /** The multimask candidates (3 for every contract's multimask output). */
  readonly candidates: readonly MaskCandidate[];
  /** Meta's single-mask token output (sam1-meta with 4 masks). */
  readonly single?: MaskCandidate;
  /** 256² logits per candidate (same order), for iterative refinement with mask_input. */
  readonly lowRes: readonly Float32Array[];
  readonly objectScore?: number;
  /** Points as the graph saw them, padding included (Meta's single-mask rule counts them). */
  readonly pointsInCall: number;
}

function output(
  outputs: TensorMap,
  name: string,
  rankDims: (dims: readonly number[]) => boolean,
  want: string,
): { data: Float32Array; dims: readonly number[] } {
  const t = outputs[name];
  if (!t)
    throw new AppError('tensor-mismatch', `The decoder returned no '${name}' output.`, { subject: name });
  if (!rankDims(t.dims)) {
    throw new AppError(
      'tensor-mismatch',
      `Decoder output '${name}' has shape [${t.dims.join(', ')}], expected ${want}.`,
      { subject: name },
    );
  }
  return { data: asFloat32(t), dims: t.dims };
}

function candidate(logits: Float32Array, predictedIou: number): MaskCandidate {
  const { mask, area } = maskAndArea(logits);
  return { mask, predictedIou, area };
}

/** Turns a decoder call's outputs into per-set candidates at the original slice size. */
export function decodeOutputs(
  contract: ContractId,
  outputs: TensorMap,
  call: DecoderCall,
  frame: ModelFrame,
): DecodedSet[] {
  const { width: W, height: H } = frame.image;
  const L = call.setIndices.length;
  const LR = LOW_RES * LOW_RES;

  if (contract === 'sam1-meta') {
    const masks = output(
      outputs,
      'masks',
      (d) => d.length === 4 && d[0] === 1 && d[2] === H && d[3] === W,
      `[1, M, ${H}, ${W}]`,
    );
    const M = masks.dims[1] ?? 0;
    const ious = output(outputs, 'iou_predictions', (d) => d.length === 2 && d[1] === M, `[1, ${M}]`);
    const low = outputs['low_res_masks']
      ? output(outputs, 'low_res_masks', (d) => d[1] === M && d[2] === LOW_RES, `[1, ${M}, 256, 256]`)
      : undefined;
    const plane = (k: number) => masks.data.subarray(k * W * H, (k + 1) * W * H);
    const lowPlane = (k: number) => (low ? low.data.slice(k * LR, (k + 1) * LR) : new Float32Array(0));
    const first = M === 4 ? 1 : 0;
    const candidates: MaskCandidate[] = [];
    const lowRes: Float32Array[] = [];
    for (let k = first; k < M; k++) {
      candidates.push(candidate(plane(k), ious.data[k] ?? 0));
      lowRes.push(lowPlane(k));
    }
    const single = M === 4 ? candidate(plane(0), ious.data[0] ?? 0) : undefined;
    return [
      {
        width: W,
        height: H,
        candidates,
        lowRes,
        pointsInCall: call.pointsPerSet,
        ...(single ? { single } : {}),
      },
    ];
  }

  const isHf = contract === 'hf-sam' || contract === 'hf-sam2';
  const masks = isHf
    ? output(
        outputs,
        'pred_masks',
        (d) => d.length === 5 && d[1] === L && d[3] === LOW_RES && d[4] === LOW_RES,
        `[1, ${L}, 3, 256, 256]`,
      )
    : output(
        outputs,
        'masks',
        (d) => d.length === 4 && d[0] === L && d[2] === LOW_RES && d[3] === LOW_RES,
        `[${L}, 3, 256, 256]`,
      );
  const C = (isHf ? masks.dims[2] : masks.dims[1]) ?? 0;
  const ious = isHf
    ? output(outputs, 'iou_scores', (d) => d.length === 3 && d[1] === L && d[2] === C, `[1, ${L}, ${C}]`)
    : output(outputs, 'iou_predictions', (d) => d.length === 2 && d[0] === L && d[1] === C, `[${L}, ${C}]`);
  const obj =
    contract === 'hf-sam2' && outputs['object_score_logits']
      ? asFloat32(outputs['object_score_logits'])
      : undefined;

  // SAM's post-processing: to the padded 1024 frame, crop the resized content, then to the original
  // size. SAM 2: straight from 256² to the original size.
  const via =
    contract === 'hf-sam'
      ? { side: MODEL_SIDE, cropW: frame.resized.width, cropH: frame.resized.height }
      : undefined;

  const out: DecodedSet[] = [];
  for (let l = 0; l < L; l++) {
    const candidates: MaskCandidate[] = [];
    const lowRes: Float32Array[] = [];
    for (let c = 0; c < C; c++) {
      const off = (l * C + c) * LR;
      const low = masks.data.slice(off, off + LR);
      const { mask, area } = upsampleToMask(low, LOW_RES, LOW_RES, W, H, via);
      candidates.push({ mask, area, predictedIou: ious.data[l * C + c] ?? 0 });
      lowRes.push(low);
    }
    const objectScore = obj?.[l];
    out.push({
      width: W,
      height: H,
      candidates,
      lowRes,
      pointsInCall: call.pointsPerSet,
      ...(objectScore === undefined ? {} : { objectScore }),
    });
  }
  return out;
}
