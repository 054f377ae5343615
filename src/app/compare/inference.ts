/**
 * Inference for the compare view: the worker client's lifecycle (start, restart, GPU loss), the model
 * input of the current slice, encodes keyed by study, slice and window, latest-wins decodes checked
 * against the prompt revision, the selection of the shown candidate, and the timing marks the
 * benchmark reads.
 */
import { toAppError } from '../../core/errors';
import { modelInput } from '../../core/evaluation';
import { describeWindow, type IntensityWindow } from '../../core/image/intensity';
import type { Mask, Rgb8Image } from '../../core/image/types';
import type { Study } from '../../core/io/study';
import { dice, segMetrics } from '../../core/metrics';
import { select } from '../../core/models/selection';
import type { PromptSet } from '../../core/prompts/types';
import { chooseProvider, threadsFor } from '../../runtime/capabilities';
import type { InferenceClient } from '../../runtime/client';
import type { DecodedSetOut } from '../../runtime/protocol';
import { EMPTY_RESULT, SLOT_LABEL, SLOTS, useCompareStore, type Slot } from '../../state/compare';
import { useRuntimeStore } from '../../state/runtime';
import type { ViewerController } from '../../viewer/controller';
import { report } from './feedback';

type Store = ReturnType<typeof useCompareStore.getState>;

/** What inference reads from the session, which owns the study and the viewer. */
export interface InferenceHost {
  readonly study: () => Study | null;
  readonly viewer: () => ViewerController | null;
  /** The ground truth of the current structure on the current slice. */
  readonly gtMask: () => Mask | null;
  /** Loads the slot's model again into a fresh worker (after a restart). */
  readonly reloadModel: (slot: Slot) => Promise<void>;
}

/** The execution provider a model loads on now: the user's preference where the browser allows it. */
export function currentProvider(): 'wasm' | 'webgpu' {
  const rt = useRuntimeStore.getState();
  if (!rt.capabilities) return 'wasm';
  return chooseProvider(rt.capabilities.webgpu, rt.providerPreference).provider;
}

/** One candidate of the last decode over the model input it was decoded from (a thumbnail's inputs). */
export interface CandidateView {
  readonly image: Rgb8Image;
  readonly mask: Uint8Array;
}

export class Inference {
  private clientNow: InferenceClient;
  private initDone: Promise<void>;
  private unsubscribeEvents: (() => void) | null = null;
  /** The last model input, reused while slice and window stay (each decode and thumbnail needs it). */
  private inputMemo: {
    image: Study['image'];
    slice: number;
    window: string;
    value: { image: Rgb8Image; window: IntensityWindow };
  } | null = null;
  private readonly lastSets: Record<Slot, DecodedSetOut | null> = { sam: null, sam2: null };
  private readonly encoded: Record<Slot, string | null> = { sam: null, sam2: null };
  private readonly encoding: Record<Slot, Promise<boolean> | null> = { sam: null, sam2: null };
  private switching = false;
  private restarting: Promise<void> | null = null;
  /**
   * When the current prompts were set, for the click-to-overlay measures, and the panes still to show a
   * result for them (fixed by the first decode of that revision; several decodes of one revision can
   * overlap, e.g. a click while a model finishes loading, and any of them may draw a pane).
   */
  private promptAt: { revision: number; t: number; pending: Set<Slot> | null; drawn: number } | null = null;

  constructor(
    private readonly createClient: () => InferenceClient,
    private readonly host: InferenceHost,
  ) {
    this.clientNow = createClient();
    this.initDone = this.startClient();
    // Changing the execution provider starts a fresh worker (one ONNX Runtime instance never mixes
    // providers) and reloads the loaded models from the cache.
    useRuntimeStore.subscribe((st, prev) => {
      if (st.providerPreference === prev.providerPreference || this.switching) return;
      const want = currentProvider();
      if (
        SLOTS.some((slot) => this.s.models[slot].status === 'ready' && this.s.models[slot].provider !== want)
      )
        void this.restartWorker();
    });
  }

  private get s(): Store {
    return useCompareStore.getState();
  }

  /** The current worker client (a restart replaces it). */
  get client(): InferenceClient {
    return this.clientNow;
  }

  /** Settles once the current worker has started (or failed to, which was reported). */
  ready(): Promise<void> {
    return this.initDone;
  }

  /** Initialises the current client; a failure is reported, never left as an unhandled rejection. */
  private startClient(): Promise<void> {
    return this.initClient().catch((e: unknown) => {
      const err = toAppError(e, 'internal', 'Starting the inference worker');
      if (err.code !== 'worker-terminated') report(err);
    });
  }

  private async initClient(): Promise<void> {
    // A worker that fails (script not loaded, crash) shows in the header until a fresh one starts.
    useRuntimeStore.getState().setWorkerFailure(null);
    this.clientNow.onFailure((e) => {
      useRuntimeStore.getState().setWorkerFailure(e.message);
    });
    this.unsubscribeEvents?.();
    this.unsubscribeEvents = this.clientNow.onEvent((ev) => {
      if (ev.event === 'gpu-lost') {
        this.s.patch({ gpuLost: ev.message });
        this.s.toast(
          'error',
          'The GPU device was lost. No mask is shown from it. Retry on WebGPU or switch to WebAssembly.',
          ev.message,
        );
        for (const slot of SLOTS) {
          if (this.s.models[slot].provider === 'webgpu') {
            this.s.setResult(slot, { ...EMPTY_RESULT, status: 'error', error: 'GPU device lost' });
            this.host.viewer()?.setMask(slot, null);
          }
        }
      }
    });
    const env = {
      crossOriginIsolated: globalThis.crossOriginIsolated,
      hardwareConcurrency: navigator.hardwareConcurrency || 1,
    };
    await this.clientNow.request({ kind: 'init', threads: threadsFor(env) });
  }

  restartWorker(): Promise<void> {
    // One restart at a time; a second request while one runs joins it.
    this.restarting ??= this.doRestart().finally(() => {
      this.restarting = null;
    });
    return this.restarting;
  }

  private async doRestart(): Promise<void> {
    this.switching = true;
    this.clientNow.terminate();
    this.clientNow = this.createClient();
    this.initDone = this.startClient();
    await this.initDone;
    this.s.patch({ gpuLost: null });
    this.switching = false;
    for (const slot of SLOTS) {
      this.forgetSlot(slot);
      this.s.setResult(slot, EMPTY_RESULT);
      this.host.viewer()?.setMask(slot, null);
      await this.host.reloadModel(slot);
    }
  }

  terminate(): void {
    this.clientNow.terminate();
  }

  /** For tests and diagnostics: asks the worker to destroy its GPU device (as a driver reset would). */
  async simulateGpuLoss(): Promise<void> {
    await this.clientNow.request({ kind: 'debug-lose-gpu' });
  }

  // ---- what the session changes ----------------------------------------------------------------

  /** A slot's model changed: its embedding and last decode no longer hold. */
  forgetSlot(slot: Slot): void {
    this.encoded[slot] = null;
    this.lastSets[slot] = null;
  }

  /** A new study: nothing encoded or decoded holds, and the worker drops its cached embeddings. */
  async newStudy(): Promise<void> {
    for (const slot of SLOTS) {
      this.forgetSlot(slot);
      this.clientNow.invalidate(slot);
    }
    await this.clientNow.request({ kind: 'clear-cache' }).catch(() => undefined);
  }

  /** The window changed: every embedding must be computed again. */
  forgetEncodings(): void {
    for (const slot of SLOTS) this.encoded[slot] = null;
  }

  /** The slice changed: decodes in flight for the old one are dropped. */
  invalidateDecodes(): void {
    for (const slot of SLOTS) this.clientNow.invalidate(slot);
  }

  /** The prompts were replaced (another slice or structure): no decode result is shown. */
  forgetDecodes(): void {
    for (const slot of SLOTS) this.lastSets[slot] = null;
  }

  /** New prompts at this store revision: the start of click to overlay. */
  promptsChanged(revision: number): void {
    this.promptAt = { revision, t: performance.now(), pending: null, drawn: 0 };
  }

  // ---- encode and decode -----------------------------------------------------------------------

  /** The model input of the current slice (core/evaluation's rule), kept while slice and window stay. */
  modelInput(): { image: Rgb8Image; window: IntensityWindow } | null {
    const study = this.host.study();
    if (!study) return null;
    const memo = this.inputMemo;
    const win = describeWindow(this.s.modelWindow);
    if (memo && memo.image === study.image && memo.slice === this.s.slice && memo.window === win)
      return memo.value;
    const value = modelInput(study, this.s.slice, this.s.modelWindow);
    this.inputMemo = { image: study.image, slice: this.s.slice, window: win, value };
    return value;
  }

  private encodeKey(window: IntensityWindow): string {
    return `${this.host.study()?.id ?? ''}|${this.s.slice}|${describeWindow(window)}`;
  }

  async encodeCurrent(only: readonly Slot[] = SLOTS): Promise<void> {
    await this.initDone;
    const input = this.modelInput();
    if (!input) return;
    const key = this.encodeKey(input.window);
    await Promise.all(
      only
        .filter((slot) => this.s.models[slot].status === 'ready')
        .map(async (slot) => {
          if (this.encoded[slot] === key) return;
          const running = this.encoding[slot];
          const p = (async () => {
            this.s.setResult(slot, { status: 'encoding' });
            try {
              const image = { ...input.image, data: input.image.data.slice() };
              const r = await this.clientNow.request({ kind: 'encode', slot, key, image }, [
                image.data.buffer,
              ]);
              if (key !== this.encodeKey(input.window)) return false;
              this.encoded[slot] = key;
              this.s.setResult(slot, {
                status: 'idle',
                ...(r.cached ? {} : { encodeMs: r.encodeMs }),
                provider: r.provider,
              });
              return true;
            } catch (e) {
              const err = toAppError(e, 'internal', `${SLOT_LABEL[slot]} encoder`);
              if (err.code === 'stale') return false;
              this.s.setResult(slot, { status: 'error', error: err.message });
              if (err.code !== 'gpu-lost') report(err);
              return false;
            }
          })();
          this.encoding[slot] = p;
          if (running) await running.catch(() => false);
          await p;
        }),
    );
  }

  async decodeAll(): Promise<void> {
    const study = this.host.study();
    if (!study) return;
    const points = this.s.points;
    const box = this.s.box;
    const revision = this.s.revision;
    const viewer = this.host.viewer;
    if (points.length === 0 && !box) {
      for (const slot of SLOTS) {
        this.lastSets[slot] = null;
        this.s.setResult(slot, {
          ...EMPTY_RESULT,
          encodeMs: this.s.results[slot].encodeMs,
          provider: this.s.results[slot].provider,
        });
        viewer()?.setMask(slot, null);
      }
      return;
    }
    const input = this.modelInput();
    if (!input) return;
    const key = this.encodeKey(input.window);
    const prompt: PromptSet = { points, ...(box ? { box } : {}) };
    const ready = SLOTS.filter((slot) => this.s.models[slot].status === 'ready');
    const at = this.promptAt;
    if (at && at.revision === revision && !at.pending) at.pending = new Set(ready);
    // Each model decodes as soon as its own embedding is ready (its decoder worker does not wait for
    // the other model's encode).
    await Promise.all(
      ready.map(async (slot) => {
        await this.encodeCurrent([slot]);
        if (this.encoded[slot] !== key || revision !== this.s.revision) return;
        this.s.setResult(slot, { status: 'decoding' });
        try {
          const sent = performance.now();
          const r = await this.clientNow.decodeLatest(slot, { kind: 'decode', slot, key, prompts: [prompt] });
          if (!r || revision !== this.s.revision || key !== this.encodeKey(input.window)) return;
          // The parts of click-to-overlay, for the benchmark: request to result, then select + draw.
          performance.measure(`decode-round-trip:${slot}`, { start: sent, end: performance.now() });
          const set = r.sets[0];
          if (!set) return;
          this.lastSets[slot] = set;
          this.s.setResult(slot, {
            status: 'done',
            decodeMs: r.decodeMs,
            decodeWorker: r.worker,
            decodeThreads: r.threads,
            provider: r.provider,
            revision,
            error: undefined,
          });
          const shown = performance.now();
          this.showSelected(slot);
          performance.measure(`show-selected:${slot}`, { start: shown, end: performance.now() });
          if (at === this.promptAt && at?.pending?.has(slot)) {
            // This pane's own click to overlay: the frame after its mask was drawn.
            requestAnimationFrame(() => {
              performance.measure(`click-to-overlay:${slot}`, {
                start: at.t,
                end: performance.now(),
                detail: revision,
              });
            });
            at.drawn++;
            this.settlePrompt(at, slot);
          }
        } catch (e) {
          const err = toAppError(e, 'internal', `${SLOT_LABEL[slot]} decoder`);
          this.lastSets[slot] = null;
          viewer()?.setMask(slot, null);
          this.s.setResult(slot, { status: 'error', error: err.message, metrics: null, candidates: [] });
          if (err.code !== 'gpu-lost') report(err);
          if (at === this.promptAt && at?.pending?.has(slot)) this.settlePrompt(at, slot);
        }
      }),
    );
  }

  /**
   * A pane has shown what it will show for the current prompts (a mask, or an error). Once every pane
   * has, and at least one drew a mask, click to overlay is measured at the next frame.
   */
  private settlePrompt(at: NonNullable<Inference['promptAt']>, slot: Slot): void {
    at.pending?.delete(slot);
    if (at.pending?.size !== 0) return;
    this.promptAt = null;
    if (at.drawn === 0) return;
    requestAnimationFrame(() => {
      performance.measure('click-to-overlay', { start: at.t, end: performance.now(), detail: at.revision });
    });
  }

  // ---- selection -------------------------------------------------------------------------------

  /** Applies the selection rule to the last decode, computes metrics against GT and updates the view. */
  showSelected(slot: Slot): void {
    const set = this.lastSets[slot];
    const study = this.host.study();
    const viewer = this.host.viewer();
    if (!set || !study) {
      viewer?.setMask(slot, null);
      return;
    }
    const gt = this.host.gtMask();
    const rule = this.s.rule;
    const decoded = { ...set, lowRes: [] as Float32Array[] };
    let sel;
    try {
      sel = select(decoded, rule === 'single' && !set.single ? 'predicted-iou' : rule, gt ?? undefined);
    } catch {
      sel = select(decoded, 'predicted-iou');
    }
    const chosen = sel.kind === 'single' ? set.single : set.candidates[sel.index];
    if (!chosen) return;
    const mask: Mask = { width: set.width, height: set.height, data: chosen.mask };
    const spacing: [number, number] = study.image.spacingKnown
      ? [study.image.spacing[0], study.image.spacing[1]]
      : [1, 1];
    const metrics = gt ? segMetrics(mask, gt, { spacing, nsdTolerance: 2 }) : null;
    const candidates = set.candidates.map((c) => ({
      predictedIou: c.predictedIou,
      area: c.area,
      // Dice only: the surface metrics (boundary distances) are for the selected mask.
      dice: gt ? dice({ width: set.width, height: set.height, data: c.mask }, gt) : null,
    }));
    this.s.setResult(slot, { metrics, candidates, selected: sel.kind === 'single' ? 'single' : sel.index });
    viewer?.setMask(slot, mask);
  }

  selectedMask(slot: Slot): Mask | null {
    const set = this.lastSets[slot];
    const r = this.s.results[slot];
    if (!set || r.selected === null) return null;
    const c = r.selected === 'single' ? set.single : set.candidates[r.selected];
    return c ? { width: set.width, height: set.height, data: c.mask } : null;
  }

  /** Candidate `index` of the slot's last decode with the model input it came from, for its preview. */
  candidate(slot: Slot, index: number): CandidateView | null {
    const set = this.lastSets[slot];
    const input = this.modelInput();
    const c = set?.candidates[index];
    if (!set || !c || !input) return null;
    return { image: input.image, mask: c.mask };
  }
}
