/**
 * The batch protocol runner (pure orchestration; inference and storage are injected so the same code
 * runs in a browser worker and in Node). Each slice is encoded once per model and reused for every
 * structure and prompt count on it; both models get identical prompts; every candidate is scored and
 * stored with the selection rules that pick it, so rules can be switched after the run.
 */
import { AppError, toAppError } from '../core/errors';
import { describeWindow, defaultWindow, sliceToRgb8, type IntensityWindow } from '../core/image/intensity';
import { axialSlice, maskOfLabel } from '../core/image/volume';
import type { Mask, Rgb8Image } from '../core/image/types';
import type { Study, StructureInfo } from '../core/io/study';
import { segMetrics, type SegMetrics } from '../core/metrics';
import type { ContractId } from '../core/models/contracts';
import { argmaxIou, metaSingleMaskPick } from '../core/models/selection';
import { errorRegionClick } from '../core/prompts/generators';
import { planPrompts, type PlannedPrompt, type ProtocolSettings } from '../core/prompts/protocol';
import { rngFor } from '../core/prompts/rng';
import { promptPoint, type PromptSet } from '../core/prompts/types';
import { unitKey, type ResultRow } from './results';

export type SliceSampling =
  | { readonly kind: 'all' }
  | { readonly kind: 'every'; readonly k: number }
  | { readonly kind: 'largest'; readonly k: number };

export interface BatchModel {
  readonly slot: 'sam' | 'sam2';
  readonly id: string;
  readonly label: string;
  readonly contract: ContractId;
  readonly isFixture: boolean;
}

export interface CandidateLike {
  readonly mask: Uint8Array;
  readonly predictedIou: number;
}
export interface DecodedLike {
  readonly width: number;
  readonly height: number;
  readonly candidates: readonly CandidateLike[];
  readonly single?: CandidateLike;
  readonly pointsInCall: number;
}

/** What the runner needs from an inference engine (the worker client in the browser, pipelines in Node). */
export interface BatchInference {
  readonly encode: (
    slot: 'sam' | 'sam2',
    key: string,
    image: Rgb8Image,
  ) => Promise<{ encodeMs: number; cached: boolean }>;
  readonly decode: (
    slot: 'sam' | 'sam2',
    key: string,
    prompts: readonly PromptSet[],
  ) => Promise<{ sets: readonly DecodedLike[]; decodeMs: number }>;
  /** Frees a slice's embeddings once every structure on it is done (optional). */
  readonly release?: (key: string) => Promise<void>;
}

/** Where finished units go; `has` lets a resumed run skip what is done (never counted twice). */
export interface ResultSink {
  readonly has: (unit: string) => Promise<boolean>;
  readonly put: (unit: string, rows: readonly ResultRow[]) => Promise<void>;
}

export interface CaseSource {
  readonly id: string;
  readonly load: () => Promise<Study>;
}

export interface BatchOptions {
  readonly dataset: string;
  readonly protocol: ProtocolSettings;
  readonly sampling: SliceSampling;
  /** Model input window; undefined = the modality's default (CT W400/L40, others percentile 0.5–99.5). */
  readonly window?: IntensityWindow;
  readonly nsdTolerance: number;
  readonly models: readonly BatchModel[];
  /** Re-encode for every prompt set instead of reusing the slice embedding (benchmarks what reuse buys). */
  readonly noEmbeddingReuse?: boolean;
}

export interface BatchProgress {
  readonly done: number;
  readonly skipped: number;
  readonly total: number;
  readonly unitsPerMinute: number;
  readonly etaSec: number | null;
  readonly currentCase: string;
}

export interface RunControl {
  readonly signal?: AbortSignal;
  /** Resolves when the run may continue (pause). */
  readonly gate?: () => Promise<void>;
  readonly onProgress?: (p: BatchProgress) => void;
}

export interface PlannedUnit {
  readonly slice: number;
  readonly structure: StructureInfo;
}

/** Units of a study: every (slice, structure) with at least minArea pixels, sampled per structure. */
export function enumerateUnits(study: Study, minArea: number, sampling: SliceSampling): PlannedUnit[] {
  const out: PlannedUnit[] = [];
  for (const s of study.structures) {
    let slices = [...s.areas.keys()].filter((k) => (s.areas[k] ?? 0) >= minArea);
    if (sampling.kind === 'every') slices = slices.filter((_, i) => i % Math.max(1, sampling.k) === 0);
    if (sampling.kind === 'largest')
      slices = [...slices]
        .sort((a, b) => (s.areas[b] ?? 0) - (s.areas[a] ?? 0) || a - b)
        .slice(0, Math.max(1, sampling.k))
        .sort((a, b) => a - b);
    for (const slice of slices) out.push({ slice, structure: s });
  }
  return out.sort((a, b) => a.slice - b.slice || a.structure.value - b.structure.value);
}

export function modelInput(
  study: Study,
  slice: number,
  window: IntensityWindow | undefined,
): { image: Rgb8Image; window: IntensityWindow } {
  if (study.rgb)
    return {
      image: { width: study.image.dims[0], height: study.image.dims[1], data: study.rgb },
      window: { kind: 'identity' },
    };
  const w = window ?? defaultWindow(study.modality, study.is8bit);
  return sliceToRgb8(axialSlice(study.image, slice), w, study.image.data);
}

function gtMask(study: Study, slice: number, value: number): Mask {
  const gt = study.gt;
  if (!gt) throw new AppError('invalid-argument', `${study.name} has no ground truth; batch runs need it.`);
  const s = axialSlice(gt.volume, slice);
  return maskOfLabel(s.data, s.width, s.height, value);
}

interface Scored {
  readonly id: string;
  readonly c: CandidateLike;
  readonly m: SegMetrics;
}

/** Scores every candidate of one decoded prompt set and marks which rules pick it. */
export function scoreCandidates(
  d: DecodedLike,
  gt: Mask,
  spacing: readonly [number, number],
  tau: number,
): { id: string; predictedIou: number; m: SegMetrics; rules: string[] }[] {
  const all: Scored[] = d.candidates.map((c, i) => ({
    id: String(i),
    c,
    m: segMetrics({ width: d.width, height: d.height, data: c.mask }, gt, { spacing, nsdTolerance: tau }),
  }));
  const rules = new Map<string, string[]>(all.map((s) => [s.id, []]));
  rules.get(String(argmaxIou(d.candidates)))?.push('predicted-iou');
  rules.get('0')?.push('first');
  let best = 0;
  all.forEach((s, i) => {
    if (s.m.dice > (all[best]?.m.dice ?? -1)) best = i;
  });
  rules.get(String(best))?.push('oracle');
  const out = all.map((s) => ({
    id: s.id,
    predictedIou: s.c.predictedIou,
    m: s.m,
    rules: rules.get(s.id) ?? [],
  }));
  if (d.single) {
    const m = segMetrics({ width: d.width, height: d.height, data: d.single.mask }, gt, {
      spacing,
      nsdTolerance: tau,
    });
    const token0 = metaSingleMaskPick(d.pointsInCall) === 'token0';
    if (token0) out.push({ id: 'single', predictedIou: d.single.predictedIou, m, rules: ['single'] });
    else {
      out.find((x) => x.id === String(argmaxIou(d.candidates)))?.rules.push('single');
      out.push({ id: 'single', predictedIou: d.single.predictedIou, m, rules: [] });
    }
  }
  return out;
}

const boxJson = (p: PromptSet) => (p.box ? JSON.stringify([p.box.x0, p.box.y0, p.box.x1, p.box.y1]) : '');
const pointsJson = (p: PromptSet) => JSON.stringify(p.points.map((q) => [q.x, q.y, q.label]));

/**
 * Runs the protocol over cases. Finished units are written to the sink as they complete; units the
 * sink already has are skipped (resume); cancel (abort signal) stops after the current unit.
 */
export async function runBatch(
  cases: readonly CaseSource[],
  inference: BatchInference,
  sink: ResultSink,
  opts: BatchOptions,
  control: RunControl = {},
  totalHint = 0,
): Promise<{ done: number; skipped: number; errors: { case: string; message: string }[] }> {
  const errors: { case: string; message: string }[] = [];
  let done = 0;
  let skipped = 0;
  let total = totalHint;
  const t0 = performance.now();
  const report = (currentCase: string) => {
    const mins = (performance.now() - t0) / 60_000;
    const rate = mins > 0 ? done / mins : 0;
    control.onProgress?.({
      done,
      skipped,
      total,
      unitsPerMinute: rate,
      etaSec: rate > 0 ? ((total - done - skipped) / rate) * 60 : null,
      currentCase,
    });
  };
  const aborted = () => control.signal?.aborted === true;
  for (const src of cases) {
    if (aborted()) break;
    let study: Study;
    try {
      study = await src.load();
    } catch (e) {
      errors.push({ case: src.id, message: toAppError(e, 'corrupt-file', src.id).message });
      continue;
    }
    const units = enumerateUnits(study, opts.protocol.minArea, opts.sampling);
    if (!totalHint) total += units.length;
    const spacing: [number, number] = study.image.spacingKnown
      ? [study.image.spacing[0], study.image.spacing[1]]
      : [1, 1];
    const spacingText = study.image.spacingKnown ? `${spacing[0].toFixed(4)}x${spacing[1].toFixed(4)}` : 'px';
    const bySlice = new Map<number, PlannedUnit[]>();
    for (const u of units) bySlice.set(u.slice, [...(bySlice.get(u.slice) ?? []), u]);
    for (const [slice, sliceUnits] of bySlice) {
      if (aborted()) break;
      const todo: PlannedUnit[] = [];
      for (const u of sliceUnits) {
        if (await sink.has(unitKey(opts.dataset, src.id, slice, u.structure.value))) skipped++;
        else todo.push(u);
      }
      if (todo.length === 0) {
        report(src.id);
        continue;
      }
      const input = modelInput(study, slice, opts.window);
      const windowText = describeWindow(input.window);
      const key = `${opts.dataset}|${src.id}|${slice}|${windowText}`;
      const encodeMs: Record<string, number> = {};
      let first = true;
      // An embedding evicted by the engine's memory budget is encoded again rather than failing the unit.
      const decodeEncoded = async (slot: 'sam' | 'sam2', k: string, prompts: readonly PromptSet[]) => {
        try {
          return await inference.decode(slot, k, prompts);
        } catch (e) {
          if (!(e instanceof AppError && e.code === 'stale')) throw e;
          await inference.encode(slot, k, { ...input.image, data: input.image.data.slice() });
          return inference.decode(slot, k, prompts);
        }
      };
      for (const u of todo) {
        await control.gate?.();
        if (aborted()) break;
        try {
          const rows: ResultRow[] = [];
          const gt = gtMask(study, slice, u.structure.value);
          const seedKey = { seed: opts.protocol.seed, caseId: src.id, slice, label: u.structure.value };
          const planned = planPrompts(gt, opts.protocol, seedKey).filter(
            (p) => p.strategy !== 'error-region',
          );
          const wantsErrorRegion = opts.protocol.strategies.includes('error-region');
          for (const model of opts.models) {
            const reuse = !opts.noEmbeddingReuse;
            const unitKeyForEncode = reuse ? key : `${key}|${u.structure.value}`;
            const needEncode = !reuse || first;
            if (needEncode) {
              const e = await inference.encode(model.slot, unitKeyForEncode, {
                ...input.image,
                data: input.image.data.slice(),
              });
              encodeMs[model.slot] = e.encodeMs;
            }
            const base = {
              dataset: opts.dataset,
              case: src.id,
              modality: study.modality,
              slice,
              structure: u.structure.name,
              label_value: u.structure.value,
              model_slot: model.slot,
              model_id: model.id,
              model_label: model.label,
              contract: model.contract,
              is_fixture: model.isFixture,
              spacing_mm: spacingText,
              window: windowText,
              encode_ms: encodeMs[model.slot] ?? 0,
              embedding_reused: !needEncode,
              seed: opts.protocol.seed,
            };
            const push = (p: PlannedPrompt, d: DecodedLike, decodeMs: number) => {
              for (const c of scoreCandidates(d, gt, spacing, opts.nsdTolerance)) {
                rows.push({
                  ...base,
                  strategy: p.strategy,
                  n_points: p.n,
                  points: pointsJson(p.prompt),
                  box: boxJson(p.prompt),
                  candidate: c.id,
                  predicted_iou: c.predictedIou,
                  selected_by: c.rules.join('|'),
                  dice: c.m.dice,
                  iou: c.m.iou,
                  nsd: c.m.nsd,
                  hd95: c.m.hd95,
                  pred_area: c.m.predArea,
                  gt_area: c.m.gtArea,
                  decode_ms: decodeMs,
                });
              }
            };
            if (planned.length && reuse) {
              const r = await decodeEncoded(
                model.slot,
                unitKeyForEncode,
                planned.map((p) => p.prompt),
              );
              const per = r.decodeMs / planned.length;
              planned.forEach((p, i) => {
                const d = r.sets[i];
                if (d) push(p, d, per);
              });
            } else {
              // Without reuse (the naive baseline benchmarks compare against), every prompt set is
              // decoded on a fresh encode of its slice.
              for (const [i, p] of planned.entries()) {
                if (i > 0) {
                  await inference.release?.(unitKeyForEncode);
                  const e = await inference.encode(model.slot, unitKeyForEncode, {
                    ...input.image,
                    data: input.image.data.slice(),
                  });
                  encodeMs[model.slot] = e.encodeMs;
                }
                const r = await inference.decode(model.slot, unitKeyForEncode, [p.prompt]);
                const d = r.sets[0];
                if (d) push(p, d, r.decodeMs);
              }
            }
            if (wantsErrorRegion) {
              const rng = rngFor(seedKey, `error-region|${model.slot}`);
              const start = planPrompts(gt, { ...opts.protocol, strategies: ['error-region'] }, seedKey)[0];
              let prompt: PromptSet = start?.prompt ?? { points: [] };
              for (let n = 1; n <= opts.protocol.maxPoints && prompt.points.length; n++) {
                const r = await decodeEncoded(model.slot, unitKeyForEncode, [prompt]);
                const d = r.sets[0];
                if (!d) break;
                push({ strategy: 'error-region', n, prompt }, d, r.decodeMs);
                const best = d.candidates[argmaxIou(d.candidates)];
                if (!best) break;
                const next = errorRegionClick(gt, { width: d.width, height: d.height, data: best.mask }, rng);
                if (!next) break;
                prompt = { points: [...prompt.points, promptPoint(next.x, next.y, next.label)] };
              }
            }
            if (!reuse) await inference.release?.(unitKeyForEncode);
          }
          first = false;
          await sink.put(unitKey(opts.dataset, src.id, slice, u.structure.value), rows);
          done++;
        } catch (e) {
          const err = toAppError(e, 'internal', `${src.id} slice ${slice} ${u.structure.name}`);
          if (err.code === 'cancelled' || err.code === 'worker-terminated') throw err;
          errors.push({ case: src.id, message: err.message });
        }
        report(src.id);
      }
      await inference.release?.(key);
    }
  }
  report('');
  return { done, skipped, errors };
}
