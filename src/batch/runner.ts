/**
 * The batch protocol runner (pure orchestration; inference and storage are injected so the same code
 * runs in a browser worker and in Node). Each slice is encoded once per model and reused for every
 * structure and prompt count on it; both models get identical prompts; every candidate is scored and
 * stored with the selection rules that pick it, so rules can be switched after the run.
 */
import { AppError, toAppError } from '../core/errors';
import { modelInput, scoreCandidates, type DecodedLike } from '../core/evaluation';
import { describeWindow, type IntensityWindow } from '../core/image/intensity';
import { axialSlice, maskOfLabel } from '../core/image/volume';
import type { Mask, Rgb8Image } from '../core/image/types';
import type { Study, StructureInfo } from '../core/io/study';
import type { ContractId } from '../core/models/contracts';
import { argmaxIou } from '../core/models/selection';
import { errorRegionClick } from '../core/prompts/generators';
import { planPrompts, type PlannedPrompt, type ProtocolSettings } from '../core/prompts/protocol';
import { rngFor } from '../core/prompts/rng';
import { pointsToJson, promptPoint, type PromptSet } from '../core/prompts/types';
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

export type { DecodedLike } from '../core/evaluation';

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
  /** Units of this run with at least one error row (or that failed as a whole). */
  readonly unitsWithFailures: number;
  /** Units of this run with no computed row. */
  readonly unitsFailed: number;
  /** Error rows written so far. */
  readonly failedRows: number;
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

function gtMask(study: Study, slice: number, value: number): Mask {
  const gt = study.gt;
  if (!gt) throw new AppError('invalid-argument', `${study.name} has no ground truth; batch runs need it.`);
  const s = axialSlice(gt.volume, slice);
  return maskOfLabel(s.data, s.width, s.height, value);
}

const boxJson = (p: PromptSet) => (p.box ? JSON.stringify([p.box.x0, p.box.y0, p.box.x1, p.box.y1]) : '');

/** A failure that ends the run (cancel, the worker gone): never turned into an error row. */
function isFatal(e: unknown): boolean {
  return e instanceof AppError && (e.code === 'cancelled' || e.code === 'worker-terminated');
}

/** Rethrows a fatal error; otherwise the message an error row or the error list records. */
function failureMessage(e: unknown, stage: string): string {
  if (isFatal(e)) throw e;
  return `${stage} failed: ${toAppError(e, 'internal').message}`;
}

/** Groups planned prompt sets by strategy, in plan order. */
function byStrategy(planned: readonly PlannedPrompt[]): PlannedPrompt[][] {
  const groups = new Map<string, PlannedPrompt[]>();
  for (const p of planned) groups.set(p.strategy, [...(groups.get(p.strategy) ?? []), p]);
  return [...groups.values()];
}

/** A failure the result rows cannot hold: a case that did not load, a unit that could not be planned or stored. */
export interface BatchFailure {
  readonly case: string;
  /** `slice N structure` when the failure is one unit's; absent for a case that did not load. */
  readonly unit?: string;
  readonly message: string;
}

/** What a run did. Units with failures are written with their error rows, so they count in `done`. */
export interface BatchOutcome {
  /** Units this run processed (written to the sink, or failed before they could be). */
  readonly done: number;
  /** Units the sink already had (a resumed run). */
  readonly skipped: number;
  /** Units of this run with at least one failed prompt set (or that failed as a whole). */
  readonly unitsWithFailures: number;
  /** Units of this run with no computed row at all: every row an error row, or nothing written. */
  readonly unitsFailed: number;
  /** Error rows written (one per prompt set a model could not run). */
  readonly failedRows: number;
  /** Cases that could not be loaded (their units were never counted). */
  readonly casesFailed: number;
  /**
   * Nothing of this run succeeded: every unit it processed failed as a whole, or it processed none and
   * every case it tried failed to load. A run that only skipped finished units has not failed.
   */
  readonly failed: boolean;
  /** The first failure's message (an error row's or a listed one), for the one-line report; null if none. */
  readonly firstError: string | null;
  readonly errors: readonly BatchFailure[];
}

type OutcomeCounts = Pick<BatchOutcome, 'done' | 'skipped' | 'unitsFailed' | 'casesFailed'>;

export function runHasFailed(o: OutcomeCounts): boolean {
  if (o.done > 0) return o.unitsFailed === o.done;
  return o.skipped === 0 && o.casesFailed > 0;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The status line of a finished run: "Finished: 12 units (0 already done), 3 with failures (18 failed
 * rows)"; "Failed: …" when nothing succeeded; "Cancelled: …" after a cancel.
 */
export function outcomeStatus(o: BatchOutcome, cancelled: boolean): string {
  const failures =
    (o.unitsWithFailures
      ? `, ${o.unitsWithFailures} with failures (${plural(o.failedRows, 'failed row')})`
      : '') + (o.casesFailed ? `, ${plural(o.casesFailed, 'case')} could not be loaded` : '');
  const first = o.firstError ? ` First error: ${o.firstError}` : '';
  if (o.failed)
    return o.done === 0
      ? `Failed: no unit ran (${plural(o.casesFailed, 'case')} could not be loaded).${first}`
      : `Failed: every unit failed (${plural(o.done, 'unit')}, ${plural(o.failedRows, 'failed row')}).${first}`;
  if (cancelled) return `Cancelled: ${o.done} units finished and kept${failures}.`;
  return `Finished: ${o.done} units (${o.skipped} already done)${failures}.`;
}

/**
 * Runs the protocol over cases. Finished units are written to the sink as they complete; units the
 * sink already has are skipped (resume); cancel (abort signal) stops after the current unit.
 *
 * Failures are isolated: a model whose encode of a slice fails gets error rows for the unit while the
 * other model still runs; a decode that fails for all prompt sets at once is retried one strategy at a
 * time, and a strategy whose sets still fail together one set at a time, so one unsupported prompt or a
 * decoder that cannot batch costs only the prompt sets that really fail. Each of those is an error row.
 * Only cancellation and a terminated worker end the run.
 */
export async function runBatch(
  cases: readonly CaseSource[],
  inference: BatchInference,
  sink: ResultSink,
  opts: BatchOptions,
  control: RunControl = {},
  totalHint = 0,
): Promise<BatchOutcome> {
  const errors: BatchFailure[] = [];
  let done = 0;
  let skipped = 0;
  let unitsWithFailures = 0;
  let unitsFailed = 0;
  let failedRows = 0;
  let casesFailed = 0;
  let firstError: string | null = null;
  const record = (f: BatchFailure) => {
    errors.push(f);
    firstError ??= f.message;
  };
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
      unitsWithFailures,
      unitsFailed,
      failedRows,
    });
  };
  const aborted = () => control.signal?.aborted === true;
  for (const src of cases) {
    if (aborted()) break;
    let study: Study;
    try {
      study = await src.load();
    } catch (e) {
      if (isFatal(e)) throw e;
      casesFailed++;
      record({ case: src.id, message: toAppError(e, 'corrupt-file', src.id).message });
      report(src.id);
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
      const encodeMs = new Map<'sam' | 'sam2', number>();
      // Models whose embedding of this slice exists (reused by every structure on it). A model whose
      // encode failed is tried again on the slice's next unit.
      const encoded = new Set<'sam' | 'sam2'>();
      const freshImage = () => ({ ...input.image, data: input.image.data.slice() });
      // Freeing memory early is an optimisation; a failure to do it must not fail the unit.
      const releaseQuietly = async (k: string) => {
        try {
          await inference.release?.(k);
        } catch (e) {
          if (isFatal(e)) throw e;
        }
      };
      // An embedding evicted by the engine's memory budget is encoded again rather than failing the unit.
      const decodeEncoded = async (slot: 'sam' | 'sam2', k: string, prompts: readonly PromptSet[]) => {
        try {
          return await inference.decode(slot, k, prompts);
        } catch (e) {
          if (!(e instanceof AppError && e.code === 'stale')) throw e;
          await inference.encode(slot, k, freshImage());
          return inference.decode(slot, k, prompts);
        }
      };
      for (const u of todo) {
        await control.gate?.();
        if (aborted()) break;
        const unitName = `slice ${slice} ${u.structure.name}`;
        const uKey = unitKey(opts.dataset, src.id, slice, u.structure.value);
        let gt: Mask;
        let planned: PlannedPrompt[];
        // The iterative strategy's first click (its later clicks depend on each model's output).
        let errorRegionStart: PlannedPrompt | undefined;
        const seedKey = { seed: opts.protocol.seed, caseId: src.id, slice, label: u.structure.value };
        try {
          gt = gtMask(study, slice, u.structure.value);
          planned = planPrompts(gt, opts.protocol, seedKey).filter((p) => p.strategy !== 'error-region');
          errorRegionStart = opts.protocol.strategies.includes('error-region')
            ? planPrompts(gt, { ...opts.protocol, strategies: ['error-region'] }, seedKey)[0]
            : undefined;
        } catch (e) {
          // Nothing to run either model on: the unit fails as a whole and is not written (a resumed run
          // tries it again).
          record({ case: src.id, unit: unitName, message: failureMessage(e, 'Planning the prompts') });
          done++;
          unitsWithFailures++;
          unitsFailed++;
          report(src.id);
          continue;
        }
        const gtArea = gt.data.reduce((a, v) => a + (v ? 1 : 0), 0);
        const rows: ResultRow[] = [];
        for (const model of opts.models) {
          const reuse = !opts.noEmbeddingReuse;
          const unitKeyForEncode = reuse ? key : `${key}|${u.structure.value}`;
          const needEncode = !reuse || !encoded.has(model.slot);
          let encodeError: string | null = null;
          if (needEncode) {
            try {
              const e = await inference.encode(model.slot, unitKeyForEncode, freshImage());
              encodeMs.set(model.slot, e.encodeMs);
              encoded.add(model.slot);
            } catch (e) {
              encodeError = failureMessage(e, 'encode');
              encodeMs.delete(model.slot);
            }
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
            encode_ms: encodeMs.get(model.slot) ?? (encodeError === null ? 0 : null),
            embedding_reused: !needEncode,
            seed: opts.protocol.seed,
          };
          const promptColumns = (p: PlannedPrompt) => ({
            strategy: p.strategy,
            n_points: p.n,
            points: pointsToJson(p.prompt),
            box: boxJson(p.prompt),
          });
          const fail = (p: PlannedPrompt, message: string) => {
            rows.push({
              ...base,
              ...promptColumns(p),
              candidate: '',
              predicted_iou: null,
              selected_by: '',
              dice: null,
              iou: null,
              nsd: null,
              hd95: null,
              pred_area: null,
              gt_area: gtArea,
              decode_ms: null,
              status: 'error',
              error: message,
            });
          };
          const push = (p: PlannedPrompt, d: DecodedLike | undefined, decodeMs: number) => {
            if (!d) {
              fail(p, 'decode failed: the decoder returned no output for this prompt set.');
              return;
            }
            let scored: ReturnType<typeof scoreCandidates>;
            try {
              scored = scoreCandidates(d, gt, spacing, opts.nsdTolerance);
            } catch (e) {
              fail(p, failureMessage(e, 'scoring'));
              return;
            }
            for (const c of scored) {
              rows.push({
                ...base,
                ...promptColumns(p),
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
                status: 'ok',
                error: '',
              });
            }
          };
          /** One decode call for `sets`, their rows written; on failure nothing is written and the message returned. */
          const tryDecode = async (sets: readonly PlannedPrompt[]): Promise<string | null> => {
            try {
              const r = await decodeEncoded(
                model.slot,
                unitKeyForEncode,
                sets.map((p) => p.prompt),
              );
              const per = r.decodeMs / sets.length;
              sets.forEach((p, i) => push(p, r.sets[i], per));
              return null;
            } catch (e) {
              return failureMessage(e, 'decode');
            }
          };
          if (encodeError !== null) {
            for (const p of planned) fail(p, encodeError);
            if (errorRegionStart) fail({ ...errorRegionStart, n: 1 }, encodeError);
            continue;
          }
          if (planned.length && reuse) {
            // Fast path: every prompt set in one call. If that fails, one call per strategy; a strategy
            // whose sets still fail together is tried one set at a time (a decoder that cannot batch).
            if ((await tryDecode(planned)) !== null) {
              for (const group of byStrategy(planned)) {
                const groupError = await tryDecode(group);
                if (groupError === null) continue;
                if (group.length === 1) {
                  for (const p of group) fail(p, groupError);
                  continue;
                }
                for (const p of group) {
                  const setError = await tryDecode([p]);
                  if (setError !== null) fail(p, setError);
                }
              }
            }
          } else {
            // Without reuse (the naive baseline benchmarks compare against), every prompt set is
            // decoded on a fresh encode of its slice.
            for (const [i, p] of planned.entries()) {
              if (i > 0) {
                await releaseQuietly(unitKeyForEncode);
                try {
                  const e = await inference.encode(model.slot, unitKeyForEncode, freshImage());
                  encodeMs.set(model.slot, e.encodeMs);
                } catch (e) {
                  fail(p, failureMessage(e, 'encode'));
                  continue;
                }
              }
              try {
                const r = await inference.decode(model.slot, unitKeyForEncode, [p.prompt]);
                push(p, r.sets[0], r.decodeMs);
              } catch (e) {
                fail(p, failureMessage(e, 'decode'));
              }
            }
          }
          if (errorRegionStart) {
            const rng = rngFor(seedKey, `error-region|${model.slot}`);
            let prompt: PromptSet = errorRegionStart.prompt;
            // Each click depends on the previous output: a failure stops the sequence, for this model only.
            for (let n = 1; n <= opts.protocol.maxPoints && prompt.points.length; n++) {
              const step: PlannedPrompt = { strategy: 'error-region', n, prompt };
              let r: Awaited<ReturnType<BatchInference['decode']>>;
              try {
                r = await decodeEncoded(model.slot, unitKeyForEncode, [prompt]);
              } catch (e) {
                fail(step, failureMessage(e, 'decode'));
                break;
              }
              const d = r.sets[0];
              push(step, d, r.decodeMs);
              const best = d?.candidates[argmaxIou(d.candidates)];
              if (!d || !best || n === opts.protocol.maxPoints) break;
              let next: ReturnType<typeof errorRegionClick>;
              try {
                next = errorRegionClick(gt, { width: d.width, height: d.height, data: best.mask }, rng);
              } catch (e) {
                // The row of the click that could not be placed holds the clicks so far.
                fail({ ...step, n: n + 1 }, failureMessage(e, 'placing the next click'));
                break;
              }
              if (!next) break;
              prompt = { points: [...prompt.points, promptPoint(next.x, next.y, next.label)] };
            }
          }
          if (!reuse) await releaseQuietly(unitKeyForEncode);
        }
        done++;
        try {
          await sink.put(uKey, rows);
        } catch (e) {
          record({ case: src.id, unit: unitName, message: failureMessage(e, 'Saving the unit') });
          unitsWithFailures++;
          unitsFailed++;
          report(src.id);
          continue;
        }
        const bad = rows.filter((r) => r.status === 'error').length;
        firstError ??= rows.find((r) => r.status === 'error')?.error ?? null;
        failedRows += bad;
        if (bad > 0) unitsWithFailures++;
        if (bad > 0 && bad === rows.length) unitsFailed++;
        report(src.id);
      }
      await inference.release?.(key);
    }
  }
  report('');
  const counts = { done, skipped, unitsWithFailures, unitsFailed, failedRows, casesFailed };
  return { ...counts, failed: runHasFailed(counts), firstError, errors };
}
