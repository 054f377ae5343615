/**
 * The comparison engine: owns the study (volumes and masks), the prompt history, the viewer and the
 * inference client, and keeps the compare store in sync. React reads the store; it calls the engine
 * through the CompareActions interface.
 */
import { encode as encodePng } from 'fast-png';
import { AppError, toAppError } from '../core/errors';
import {
  CT_PRESETS,
  describeWindow,
  resolveWindow,
  sliceToRgb8,
  windowBounds,
  type IntensityWindow,
} from '../core/image/intensity';
import { axialSlice, maskOfLabel, toSourceGrid } from '../core/image/volume';
import { renderThumbnail, thumbnailSize } from '../core/image/thumbnail';
import type { Mask, Modality, Rgb8Image } from '../core/image/types';
import { readSingleFile, writeNifti, type InputFile, type ReadResult } from '../core/io';
import type { FrameDecoder } from '../core/io/dicom';
import { writeDicomSeg } from '../core/io/dicom';
import { isDicomFile, isDicomSeg, readDicomImage, readImageFiles, readSegOnGrid } from '../core/io/read-any';
import {
  combineMasks,
  isMaskName,
  isSideFile,
  parseLabelsJson,
  parsePixelSizeCsv,
  withPixelSpacing,
  type MaskSet,
} from '../core/io/open';
import { assembleStudy, type Study } from '../core/io/study';
import { dice, segMetrics } from '../core/metrics';
import { presetById } from '../core/models/registry';
import { select, type SelectionRule } from '../core/models/selection';
import { DEFAULT_PROTOCOL, planPrompts, type ProtocolSettings } from '../core/prompts/protocol';
import type { PromptBox, PromptPoint, PromptSet } from '../core/prompts/types';
import { chooseProvider, threadsFor, type Capabilities } from '../runtime/capabilities';
import type { InferenceClient } from '../runtime/client';
import {
  CacheStorageModelCache,
  MemoryModelCache,
  MODEL_CACHE_NAME,
  type ModelCache,
} from '../runtime/model-fetch';
import { loadLocalFiles, loadPreset, type LoadedModel, type ModelProvenance } from '../runtime/model-loader';
import type { DecodedSetOut } from '../runtime/protocol';
import type { ModelSourceMsg } from './batch-protocol';
import {
  EMPTY_RESULT,
  SLOT_LABEL,
  SLOTS,
  useCompareStore,
  type Slot,
  type StudyMeta,
} from '../state/compare';
import { useRuntimeStore } from '../state/runtime';
import type { CachedModelInfo, CompareActions } from '../state/services';
import type { ViewerController } from '../viewer/controller';
import { wipeBrowserStorage } from './clear-session';
import { fileToInput, saveBytes } from './downloads';
import { filesFromDrop } from './drop';

export const APP_VERSION = '0.1.0';
const MODEL_HOST_KEY = 'sam-compare.model-host';
/** Shown size of a candidate thumbnail (`.thumb canvas` in styles.css). */
const THUMB_CSS_PX = 64;

interface PromptState {
  readonly points: readonly PromptPoint[];
  readonly box: PromptBox | null;
}
interface History {
  states: PromptState[];
  index: number;
}

export interface EngineDeps {
  readonly createClient: () => InferenceClient;
  /** Decodes compressed DICOM frames (Cornerstone's codecs, provided by the composition root). */
  readonly frameDecoder?: FrameDecoder;
  readonly appBase: string;
  readonly defaultModelHost: string;
}

type Store = ReturnType<typeof useCompareStore.getState>;

export class CompareEngine implements CompareActions {
  private client: InferenceClient;
  private viewer: ViewerController | null = null;
  private study: Study | null = null;
  /** The last model input, reused while slice and window stay (each decode and thumbnail needs it). */
  private inputMemo: {
    image: Study['image'];
    slice: number;
    window: string;
    value: { image: Rgb8Image; window: IntensityWindow };
  } | null = null;
  private readonly history = new Map<string, History>();
  private readonly lastSets: Record<Slot, DecodedSetOut | null> = { sam: null, sam2: null };
  private readonly encoded: Record<Slot, string | null> = { sam: null, sam2: null };
  private readonly encoding: Record<Slot, Promise<boolean> | null> = { sam: null, sam2: null };
  private readonly aborts: Record<Slot, AbortController | null> = { sam: null, sam2: null };
  private readonly provenance: Record<Slot, ModelProvenance | null> = { sam: null, sam2: null };
  private readonly sources: Record<Slot, { presetId?: string; files?: readonly File[] } | null> = {
    sam: null,
    sam2: null,
  };
  private readonly cache: ModelCache;
  private host: string;
  private unsubscribeEvents: (() => void) | null = null;
  private initDone: Promise<void>;

  constructor(private readonly deps: EngineDeps) {
    this.client = deps.createClient();
    this.cache = typeof caches === 'undefined' ? new MemoryModelCache() : new CacheStorageModelCache();
    const url = new URL(location.href);
    this.host =
      url.searchParams.get('modelHost') ?? localStorage.getItem(MODEL_HOST_KEY) ?? deps.defaultModelHost;
    this.initDone = this.startClient();
    // Changing the execution provider starts a fresh worker (one ONNX Runtime instance never mixes
    // providers) and reloads the loaded models from the cache.
    useRuntimeStore.subscribe((st, prev) => {
      if (st.providerPreference === prev.providerPreference || this.switching) return;
      const want = this.provider();
      if (
        SLOTS.some((slot) => this.s.models[slot].status === 'ready' && this.s.models[slot].provider !== want)
      )
        void this.restartWorker();
    });
  }

  private switching = false;
  /**
   * When the current prompts were set, for the click-to-overlay measures, and the panes still to show a
   * result for them (fixed by the first decode of that revision; several decodes of one revision can
   * overlap, e.g. a click while a model finishes loading, and any of them may draw a pane).
   */
  private promptAt: { revision: number; t: number; pending: Set<Slot> | null; drawn: number } | null = null;

  private get s(): Store {
    return useCompareStore.getState();
  }

  private caps(): Capabilities | null {
    return useRuntimeStore.getState().capabilities;
  }

  /** Initialises the current client; a failure is reported, never left as an unhandled rejection. */
  private startClient(): Promise<void> {
    return this.initClient().catch((e: unknown) => {
      const err = toAppError(e, 'internal', 'Starting the inference worker');
      if (err.code !== 'worker-terminated') this.report(err);
    });
  }

  private async initClient(): Promise<void> {
    this.unsubscribeEvents?.();
    this.unsubscribeEvents = this.client.onEvent((ev) => {
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
            this.viewer?.setMask(slot, null);
          }
        }
      }
    });
    const env = {
      crossOriginIsolated: globalThis.crossOriginIsolated,
      hardwareConcurrency: navigator.hardwareConcurrency || 1,
    };
    await this.client.request({ kind: 'init', threads: threadsFor(env) });
  }

  // ---- viewer -------------------------------------------------------------------------------

  async mountViewer(elements: { sam: HTMLDivElement; sam2: HTMLDivElement }): Promise<() => void> {
    // Cornerstone3D (with vtk.js) is most of the app's JavaScript: it loads in its own chunk, in parallel
    // with the first render, so the initial bundle stays small.
    const { ViewerController: Viewer } = await import('../viewer/controller');
    const v: ViewerController = new Viewer();
    await v.mount(elements);
    this.viewer = v;
    v.on('prompt', ({ point }) => {
      this.pushPrompt({ points: [...this.s.points, point], box: this.s.box });
    });
    v.on('box', ({ box }) => {
      this.pushPrompt({ points: this.s.points, box });
    });
    v.on('slice', ({ index }) => {
      if (index !== this.s.slice) this.afterSliceChange(index);
    });
    v.on('load-error', ({ message }) => {
      this.s.toast('error', message);
    });
    v.on('context-lost', ({ pane }) => {
      this.s.toast(
        'error',
        `The ${SLOT_LABEL[pane]} view lost its WebGL context. Reload the page to restore it; your prompts are kept.`,
      );
    });
    if (this.study) await this.showStudy();
    return () => {
      v.destroy();
      if (this.viewer === v) this.viewer = null;
    };
  }

  // ---- study --------------------------------------------------------------------------------

  async openSample(): Promise<void> {
    await this.guard('Opening the sample', async () => {
      this.s.patch({ loading: 'sample CT' });
      const [img, seg] = await Promise.all(
        ['sample/example_ct_sm.nii.gz', 'sample/example_seg.nii.gz'].map(async (p) => {
          const res = await fetch(new URL(p, this.deps.appBase));
          if (!res.ok)
            throw new AppError(
              'network',
              `The embedded sample (${p}) could not be loaded (HTTP ${res.status}).`,
            );
          const bytes = new Uint8Array(await res.arrayBuffer());
          // Static servers may send .nii.gz with Content-Encoding: gzip, so it arrives inflated.
          const name = (p.split('/')[1] ?? p).replace(
            /\.gz$/,
            bytes[0] === 0x1f && bytes[1] === 0x8b ? '.gz' : '',
          );
          return { name, bytes };
        }),
      );
      if (!img || !seg) return;
      const study = assembleStudy(readSingleFile(img, { modality: 'CT' }), readSingleFile(seg), {
        name: 'TotalSegmentator example CT (embedded sample)',
        modality: 'CT',
        gtName: 'TotalSegmentator reference (example_seg.nii.gz)',
        gtIsModelOutput: true,
      });
      await this.setStudy(study, 'liver');
    });
  }

  async openFiles(files: readonly File[], role: 'auto' | 'image' | 'gt'): Promise<void> {
    await this.openInputs(() => Promise.all(files.map(fileToInput)), role);
  }

  async openDrop(dt: DataTransfer, role: 'auto' | 'image' | 'gt'): Promise<void> {
    await this.openInputs(async () => {
      const dropped = await filesFromDrop(dt);
      return Promise.all(
        dropped.map(async (d) => ({ name: d.path, bytes: new Uint8Array(await d.file.arrayBuffer()) })),
      );
    }, role);
  }

  private async openInputs(
    getInputs: () => Promise<InputFile[]>,
    role: 'auto' | 'image' | 'gt',
  ): Promise<void> {
    await this.guard('Opening files', async () => {
      this.s.patch({ loading: 'files' });
      const all = await getInputs();
      if (all.length === 0) {
        this.s.patch({ loading: null });
        return;
      }
      this.s.patch({ loading: all.length === 1 ? (all[0]?.name ?? 'file') : `${all.length} files` });
      const side = all.filter((f) => isSideFile(f.name));
      const data = all.filter((f) => !isSideFile(f.name));
      const text = (f: InputFile) => new TextDecoder().decode(f.bytes);
      const spacing = new Map<string, number>();
      const names = new Map<number, string>();
      for (const f of side) {
        if (/\.csv$/i.test(f.name)) for (const [k, v] of parsePixelSizeCsv(text(f))) spacing.set(k, v);
        if (/\.json$/i.test(f.name)) for (const [k, v] of parseLabelsJson(text(f))) names.set(k, v);
      }
      const base = (n: string) => n.split('/').pop() ?? n;
      const withSpacing = (r: ReadResult, name: string): ReadResult => {
        const mm = spacing.get(base(name));
        return mm && !r.volume.spacingKnown ? withPixelSpacing(r, mm) : r;
      };
      const decoder = this.deps.frameDecoder;
      // Strict unless the user opted in; a file read leniently carries a note the side panel shows.
      const readOpts = { ...(decoder ? { decoder } : {}), ...(this.s.lenientDicom ? { lenient: true } : {}) };
      const segs = data.filter(isDicomSeg);
      if (role === 'gt') {
        const cur = this.study;
        if (!cur) throw new AppError('invalid-argument', 'Open an image first, then its ground truth.');
        const seg = segs[0];
        if (seg) {
          const r = readSegOnGrid(seg, this.sourceRead(cur));
          await this.attachGroundTruth({
            result: r,
            name: base(seg.name),
            names: new Map(r.labelNames ?? []),
          });
          return;
        }
        const gt = combineMasks(data, cur.name);
        await this.attachGroundTruth({ ...gt, names: new Map([...gt.names, ...names]) });
        return;
      }
      const dicom = data.filter((f) => isDicomFile(f) && !segs.includes(f));
      let read: ReadResult;
      let imageName: string;
      let rest: InputFile[];
      if (dicom.length > 0 && role !== 'image') {
        read = (await readDicomImage(dicom, readOpts)).result;
        imageName = `DICOM series (${dicom.length} files)`;
        rest = data.filter((f) => !dicom.includes(f) && !segs.includes(f));
      } else {
        const image =
          role === 'image' || data.length === 1
            ? data[0]
            : (data.find((f) => !isMaskName(f.name) && !segs.includes(f)) ?? data[0]);
        if (!image)
          throw new AppError('invalid-argument', 'None of the dropped files is an image this app reads.');
        const companions = data.filter((f) => f !== image && /\.(raw|zraw)$/i.test(f.name));
        read = withSpacing(await readImageFiles([image, ...companions], readOpts), image.name);
        imageName = base(image.name);
        rest =
          role === 'image'
            ? []
            : data.filter((f) => f !== image && !companions.includes(f) && !segs.includes(f));
      }
      let gt: MaskSet | null = null;
      const seg = segs[0];
      if (seg) {
        const r = readSegOnGrid(seg, read);
        gt = { result: r, name: base(seg.name), names: new Map(r.labelNames ?? []) };
      } else if (rest.length) {
        gt = combineMasks(rest, imageName);
      }
      const study = assembleStudy(read, gt ? withSpacing(gt.result, rest[0]?.name ?? '') : null, {
        name: imageName,
        ...(gt ? { gtName: gt.name, extraNames: new Map([...gt.names, ...names]) } : {}),
      });
      await this.setStudy(study, null);
    });
  }

  /** The current image as read (source grid), to re-assemble it with new ground truth. */
  private sourceRead(cur: Study): ReadResult {
    return {
      volume: { ...cur.image, ...cur.sourceGeometry, data: this.sourceData(cur) },
      format: cur.format as ReadResult['format'],
      notes: cur.notes,
      is8bit: cur.is8bit,
      ...(cur.rgb ? { rgb: cur.rgb } : {}),
      ...(cur.dicom ? { dicom: cur.dicom } : {}),
      ...(cur.frameOfReference ? { frameOfReference: cur.frameOfReference } : {}),
    };
  }

  private async attachGroundTruth(gt: MaskSet): Promise<void> {
    const cur = this.study;
    if (!cur) return;
    // Re-assemble on the current image; throws (and keeps the current study) when the grids differ.
    const study = assembleStudy(this.sourceRead(cur), gt.result, {
      name: cur.name,
      modality: cur.modality,
      gtName: gt.name,
      extraNames: gt.names,
    });
    await this.setStudy(study, null);
  }

  private sourceData(s: Study) {
    return toSourceGrid(s.image.data, s.image, s.sourceGeometry);
  }

  private async setStudy(study: Study, preferStructure: string | null): Promise<void> {
    this.study = study;
    this.history.clear();
    for (const slot of SLOTS) {
      this.encoded[slot] = null;
      this.lastSets[slot] = null;
      this.client.invalidate(slot);
    }
    await this.client.request({ kind: 'clear-cache' }).catch(() => undefined);
    const preferred = preferStructure ? study.structures.find((s) => s.name === preferStructure) : undefined;
    const largest = [...study.structures].sort((a, b) => Math.max(...b.areas) - Math.max(...a.areas))[0];
    const structure = preferred ?? largest;
    const slice = structure ? structure.bestSlice : Math.floor(study.image.dims[2] / 2);
    const preset = defaultPreset(study.modality, study.is8bit);
    const meta: StudyMeta = {
      id: study.id,
      name: study.name,
      format: study.format,
      modality: study.modality,
      dims: study.image.dims,
      spacing: study.image.spacing,
      spacingKnown: study.image.spacingKnown,
      is8bit: study.is8bit,
      notes: study.notes,
      gt: study.gt
        ? {
            name: study.gt.name,
            tableLabel: study.gt.table.label,
            isModelOutput: study.gt.isModelOutput,
            notes: study.gt.notes,
          }
        : null,
      structures: study.structures.map((s) => ({
        value: s.value,
        name: s.name,
        slices: s.slices,
        bestSlice: s.bestSlice,
      })),
      isDicom: study.isDicom,
    };
    this.s.patch({
      study: meta,
      loading: null,
      slice,
      structure: structure?.value ?? null,
      windowPreset: preset.id,
      modelWindow: preset.window,
      points: [],
      box: null,
      canUndo: false,
      canRedo: false,
      results: { sam: EMPTY_RESULT, sam2: EMPTY_RESULT },
    });
    await this.showStudy();
    void this.encodeCurrent();
  }

  private async showStudy(): Promise<void> {
    const study = this.study;
    if (!study || !this.viewer) return;
    const voi = this.displayVoi();
    await this.viewer.setStudy({ id: study.id, volume: study.image }, this.s.slice, voi);
    this.refreshSliceOverlays();
  }

  private displayVoi(): { low: number; high: number } {
    const study = this.study;
    if (!study) return { low: 0, high: 1 };
    const r = resolveWindow(this.s.modelWindow, axialSlice(study.image, this.s.slice).data, study.image.data);
    return { low: r.low, high: r.high };
  }

  setModality(m: Modality): void {
    const study = this.study;
    if (!study) return;
    this.study = { ...study, modality: m };
    const p = defaultPreset(m, study.is8bit);
    const meta = this.s.study;
    if (meta) this.s.patch({ study: { ...meta, modality: m } });
    this.setWindowPreset(p.id);
  }

  setWindowPreset(id: string): void {
    const study = this.study;
    if (!study) return;
    const p = windowPresetById(id, study.is8bit);
    this.s.patch({ windowPreset: p.id, modelWindow: p.window });
    const voi = this.displayVoi();
    this.viewer?.setVoi(voi.low, voi.high);
    for (const slot of SLOTS) this.encoded[slot] = null;
    void this.encodeCurrent().then(() => this.decodeAll());
  }

  setSlice(k: number): void {
    const study = this.study;
    if (!study) return;
    const next = Math.min(Math.max(0, Math.round(k)), study.image.dims[2] - 1);
    if (this.viewer) void this.viewer.setSlice(next);
    else this.afterSliceChange(next);
  }

  private afterSliceChange(k: number): void {
    this.s.patch({ slice: k });
    for (const slot of SLOTS) this.client.invalidate(slot);
    this.restorePrompts();
    this.refreshSliceOverlays();
    void this.encodeCurrent().then(() => this.decodeAll());
  }

  setStructure(value: number): void {
    if (!this.study) return;
    this.s.patch({ structure: value });
    this.restorePrompts();
    this.refreshSliceOverlays();
    void this.decodeAll();
  }

  private gtMask(): Mask | null {
    const study = this.study;
    const v = this.s.structure;
    if (!study?.gt || v === null) return null;
    const sl = axialSlice(study.gt.volume, this.s.slice);
    return maskOfLabel(sl.data, sl.width, sl.height, v);
  }

  private refreshSliceOverlays(): void {
    this.viewer?.setGroundTruth(this.gtMask());
    this.viewer?.setPrompts(this.s.points, this.s.box);
    for (const slot of SLOTS) this.showSelected(slot);
  }

  // ---- prompts ------------------------------------------------------------------------------

  private key(): string {
    return `${this.s.slice}|${this.s.structure ?? 'none'}`;
  }

  private pushPrompt(p: PromptState): void {
    if (!this.study) return;
    const k = this.key();
    const h = this.history.get(k) ?? { states: [{ points: [], box: null }], index: 0 };
    h.states = h.states.slice(0, h.index + 1);
    h.states.push(p);
    h.index = h.states.length - 1;
    this.history.set(k, h);
    this.applyPrompts();
  }

  private restorePrompts(): void {
    const h = this.history.get(this.key());
    const cur = h?.states[h.index] ?? { points: [], box: null };
    this.s.patch({
      points: cur.points,
      box: cur.box,
      canUndo: (h?.index ?? 0) > 0,
      canRedo: h ? h.index < h.states.length - 1 : false,
      results: { sam: EMPTY_RESULT, sam2: EMPTY_RESULT },
    });
    for (const slot of SLOTS) this.lastSets[slot] = null;
    this.viewer?.setPrompts(cur.points, cur.box);
  }

  private applyPrompts(): void {
    const h = this.history.get(this.key());
    const cur = h?.states[h.index] ?? { points: [], box: null };
    this.s.patch({
      points: cur.points,
      box: cur.box,
      canUndo: (h?.index ?? 0) > 0,
      canRedo: h ? h.index < h.states.length - 1 : false,
      revision: this.s.revision + 1,
    });
    this.viewer?.setPrompts(cur.points, cur.box);
    this.promptAt = { revision: this.s.revision, t: performance.now(), pending: null, drawn: 0 };
    void this.decodeAll();
  }

  undo(): void {
    const h = this.history.get(this.key());
    if (!h || h.index === 0) return;
    h.index--;
    this.applyPrompts();
  }

  redo(): void {
    const h = this.history.get(this.key());
    if (!h || h.index >= h.states.length - 1) return;
    h.index++;
    this.applyPrompts();
  }

  clearPrompts(): void {
    if (this.s.points.length === 0 && !this.s.box) return;
    this.pushPrompt({ points: [], box: null });
  }

  autoPrompt(): void {
    const study = this.study;
    const gt = this.gtMask();
    if (!study || !gt) {
      this.s.toast('warn', 'Auto prompt needs ground truth for the chosen structure on this slice.');
      return;
    }
    const strat = this.s.autoStrategy;
    const settings: ProtocolSettings = {
      ...DEFAULT_PROTOCOL,
      seed: this.s.seed,
      strategies: [strat === 'pos-neg' ? 'pos-neg' : strat === 'box' ? 'box' : 'centre-random'],
      maxPoints: strat === 'centre' ? 1 : Math.max(1, this.s.autoPositives),
    };
    try {
      const plans = planPrompts(gt, settings, {
        seed: this.s.seed,
        caseId: study.id,
        slice: this.s.slice,
        label: this.s.structure ?? 0,
      });
      const last = plans.at(-1);
      if (!last) return;
      this.pushPrompt({ points: last.prompt.points, box: last.prompt.box ?? null });
    } catch (e) {
      this.report(toAppError(e, 'invalid-argument', 'Auto prompt'));
    }
  }

  setRule(rule: SelectionRule): void {
    this.s.patch({ rule });
    for (const slot of SLOTS) this.showSelected(slot);
  }

  resetView(): void {
    this.viewer?.resetView();
  }

  toggle(what: 'gt' | 'masks'): void {
    if (what === 'gt') {
      const v = !this.s.showGt;
      this.s.patch({ showGt: v });
      this.viewer?.setVisibility({ gt: v });
    } else {
      const v = !this.s.showMasks;
      this.s.patch({ showMasks: v });
      this.viewer?.setVisibility({ masks: v });
    }
  }

  // ---- inference ----------------------------------------------------------------------------

  private modelInput(): { image: Rgb8Image; window: IntensityWindow } | null {
    const study = this.study;
    if (!study) return null;
    if (study.rgb)
      return {
        image: { width: study.image.dims[0], height: study.image.dims[1], data: study.rgb },
        window: { kind: 'identity' },
      };
    const memo = this.inputMemo;
    const win = describeWindow(this.s.modelWindow);
    if (memo && memo.image === study.image && memo.slice === this.s.slice && memo.window === win)
      return memo.value;
    const value = sliceToRgb8(axialSlice(study.image, this.s.slice), this.s.modelWindow, study.image.data);
    this.inputMemo = { image: study.image, slice: this.s.slice, window: win, value };
    return value;
  }

  private encodeKey(window: IntensityWindow): string {
    return `${this.study?.id ?? ''}|${this.s.slice}|${describeWindow(window)}`;
  }

  private async encodeCurrent(only: readonly Slot[] = SLOTS): Promise<void> {
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
              const r = await this.client.request({ kind: 'encode', slot, key, image }, [image.data.buffer]);
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
              if (err.code !== 'gpu-lost') this.report(err);
              return false;
            }
          })();
          this.encoding[slot] = p;
          if (running) await running.catch(() => false);
          await p;
        }),
    );
  }

  private async decodeAll(): Promise<void> {
    const study = this.study;
    if (!study) return;
    const points = this.s.points;
    const box = this.s.box;
    const revision = this.s.revision;
    if (points.length === 0 && !box) {
      for (const slot of SLOTS) {
        this.lastSets[slot] = null;
        this.s.setResult(slot, {
          ...EMPTY_RESULT,
          encodeMs: this.s.results[slot].encodeMs,
          provider: this.s.results[slot].provider,
        });
        this.viewer?.setMask(slot, null);
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
          const r = await this.client.decodeLatest(slot, { kind: 'decode', slot, key, prompts: [prompt] });
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
          this.viewer?.setMask(slot, null);
          this.s.setResult(slot, { status: 'error', error: err.message, metrics: null, candidates: [] });
          if (err.code !== 'gpu-lost') this.report(err);
          if (at === this.promptAt && at?.pending?.has(slot)) this.settlePrompt(at, slot);
        }
      }),
    );
  }

  /**
   * A pane has shown what it will show for the current prompts (a mask, or an error). Once every pane
   * has, and at least one drew a mask, click to overlay is measured at the next frame.
   */
  private settlePrompt(at: NonNullable<CompareEngine['promptAt']>, slot: Slot): void {
    at.pending?.delete(slot);
    if (at.pending?.size !== 0) return;
    this.promptAt = null;
    if (at.drawn === 0) return;
    requestAnimationFrame(() => {
      performance.measure('click-to-overlay', { start: at.t, end: performance.now(), detail: at.revision });
    });
  }

  /** Applies the selection rule to the last decode, computes metrics against GT and updates the view. */
  private showSelected(slot: Slot): void {
    const set = this.lastSets[slot];
    const study = this.study;
    if (!set || !study) {
      this.viewer?.setMask(slot, null);
      return;
    }
    const gt = this.gtMask();
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
    this.viewer?.setMask(slot, mask);
  }

  selectedMask(slot: Slot): Mask | null {
    const set = this.lastSets[slot];
    const r = this.s.results[slot];
    if (!set || r.selected === null) return null;
    const c = r.selected === 'single' ? set.single : set.candidates[r.selected];
    return c ? { width: set.width, height: set.height, data: c.mask } : null;
  }

  drawCandidate(slot: Slot, index: number, canvas: HTMLCanvasElement): void {
    const set = this.lastSets[slot];
    const input = this.modelInput();
    const c = set?.candidates[index];
    if (!set || !c || !input) return;
    // At the size it is shown (64 CSS px), not the mask's: a full-size canvas per candidate made every
    // click hand six 1 MiB canvases to the compositor.
    const size = thumbnailSize(
      set.width,
      set.height,
      Math.round(THUMB_CSS_PX * (window.devicePixelRatio || 1)),
    );
    if (canvas.width !== size.width || canvas.height !== size.height) {
      canvas.width = size.width;
      canvas.height = size.height;
    }
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    const img = ctx.createImageData(size.width, size.height);
    const color = slot === 'sam' ? ([255, 158, 61] as const) : ([88, 166, 255] as const);
    renderThumbnail(input.image, c.mask, size, color, 0.55, img.data);
    ctx.putImageData(img, 0, 0);
  }

  // ---- models -------------------------------------------------------------------------------

  private provider(): 'wasm' | 'webgpu' {
    const caps = this.caps();
    if (!caps) return 'wasm';
    return chooseProvider(caps.webgpu, useRuntimeStore.getState().providerPreference).provider;
  }

  async loadPreset(slot: Slot, presetId: string): Promise<void> {
    const preset = presetById(presetId);
    if (!preset) {
      this.s.toast('error', `Unknown model preset '${presetId}'.`);
      return;
    }
    this.sources[slot] = { presetId };
    this.aborts[slot]?.abort();
    const ac = new AbortController();
    this.aborts[slot] = ac;
    this.s.setModel(slot, {
      status: 'downloading',
      presetId,
      label: preset.label,
      isFixture: preset.precision === 'fixture',
      error: undefined,
      files: [],
      notices: [],
    });
    try {
      const loaded = await loadPreset(preset, {
        host: this.host,
        appBase: this.deps.appBase,
        cache: this.cache,
        signal: ac.signal,
        onProgress: (p) => {
          if (ac.signal.aborted) return;
          this.s.setModel(slot, {
            progress: {
              file: p.file,
              fileIndex: p.fileIndex,
              fileCount: p.fileCount,
              received: p.received,
              total: p.total,
              bytesPerSec: p.bytesPerSec,
              etaSec: p.etaSec,
            },
          });
        },
      });
      await this.installModel(slot, loaded);
    } catch (e) {
      const err = toAppError(e, 'network', `Loading ${preset.label}`);
      this.s.setModel(slot, {
        status: err.code === 'cancelled' ? 'none' : 'error',
        error: err.message,
        progress: undefined,
      });
      if (err.code !== 'cancelled') this.report(err);
    } finally {
      if (this.aborts[slot] === ac) this.aborts[slot] = null;
    }
  }

  async loadLocalModel(slot: Slot, files: readonly File[]): Promise<void> {
    this.sources[slot] = { files };
    this.s.setModel(slot, {
      status: 'loading',
      label: files.map((f) => f.name).join(' + '),
      error: undefined,
      isFixture: false,
      files: [],
      notices: [],
    });
    try {
      const inputs = await Promise.all(files.map(fileToInput));
      const loaded = await loadLocalFiles(inputs);
      await this.installModel(slot, loaded);
    } catch (e) {
      const err = toAppError(e, 'model-contract', 'Loading local model files');
      this.s.setModel(slot, { status: 'error', error: err.message });
      this.report(err);
    }
  }

  private async installModel(slot: Slot, m: LoadedModel): Promise<void> {
    await this.initDone;
    const provider = this.provider();
    this.s.setModel(slot, { status: 'loading', progress: undefined });
    const transfer: Transferable[] = [m.encoder.bytes.buffer, m.decoder.bytes.buffer];
    for (const e of [...(m.encoder.externalData ?? []), ...(m.decoder.externalData ?? [])])
      transfer.push(e.data.buffer);
    const r = await this.client.request(
      {
        kind: 'load',
        slot,
        modelId: `${m.provenance.id}@${provider}`,
        encoder: m.encoder,
        decoder: m.decoder,
        provider,
      },
      transfer,
    );
    this.provenance[slot] = m.provenance;
    this.encoded[slot] = null;
    this.lastSets[slot] = null;
    this.s.setModel(slot, {
      status: 'ready',
      label: m.provenance.label,
      contract: r.contract,
      provider: r.provider,
      threads: r.threads,
      isFixture: m.provenance.isFixture,
      createMs: r.createMs,
      encoderInput: `${m.provenance.encoderInput.feeds}${m.provenance.encoderInput.kind === 'affine' ? ` — in the graph: ${m.provenance.encoderInput.ops}` : ''}`,
      files: m.provenance.files.map((f) => ({
        name: f.name,
        bytes: f.bytes,
        sha256: f.sha256,
        fromCache: f.fromCache,
      })),
      notices: m.provenance.notices,
      error: undefined,
    });
    for (const n of m.provenance.notices) this.s.toast('warn', n);
    if (m.provenance.family !== (slot === 'sam' ? 'SAM' : 'SAM 2')) {
      this.s.toast(
        'warn',
        `${m.provenance.label} is a ${m.provenance.family} model but was loaded into the ${SLOT_LABEL[slot]} pane.`,
      );
    }
    await this.encodeCurrent();
    await this.decodeAll();
  }

  cancelDownload(slot: Slot): void {
    this.aborts[slot]?.abort();
  }

  private restarting: Promise<void> | null = null;

  private restartWorker(): Promise<void> {
    // One restart at a time; a second request while one runs joins it.
    this.restarting ??= this.doRestart().finally(() => {
      this.restarting = null;
    });
    return this.restarting;
  }

  private async doRestart(): Promise<void> {
    this.switching = true;
    this.client.terminate();
    this.client = this.deps.createClient();
    this.initDone = this.startClient();
    await this.initDone;
    this.s.patch({ gpuLost: null });
    this.switching = false;
    for (const slot of SLOTS) {
      this.encoded[slot] = null;
      this.lastSets[slot] = null;
      this.s.setResult(slot, EMPTY_RESULT);
      this.viewer?.setMask(slot, null);
      const src = this.sources[slot];
      if (src?.presetId) await this.loadPreset(slot, src.presetId);
      else if (src?.files) await this.loadLocalModel(slot, src.files);
    }
  }

  async retryGpu(): Promise<void> {
    useRuntimeStore.getState().setProviderPreference('webgpu');
    await this.restartWorker();
  }

  async switchToWasm(): Promise<void> {
    useRuntimeStore.getState().setProviderPreference('wasm');
    await this.restartWorker();
  }

  /** For tests and diagnostics: asks the worker to destroy its GPU device (as a driver reset would). */
  async simulateGpuLoss(): Promise<void> {
    await this.client.request({ kind: 'debug-lose-gpu' });
  }

  async listCachedModels(): Promise<CachedModelInfo[]> {
    return this.cache.list();
  }

  async deleteCachedModel(url: string): Promise<void> {
    await this.cache.delete(url);
  }

  modelHost(): string {
    return this.host;
  }

  private readonly shutdownHooks: (() => Promise<void>)[] = [];

  /** Other engines (the batch) stop their workers and close their databases before a clear. */
  onShutdown(fn: () => Promise<void>): void {
    this.shutdownHooks.push(fn);
  }

  /**
   * Stops every worker, wipes browser storage (keeping downloaded models if asked) and reloads, so
   * nothing of the session stays in memory or at rest. The reloaded page says what was removed.
   */
  async clearSession(keepModels: boolean): Promise<void> {
    this.s.patch({ loading: 'Clearing the session…' });
    try {
      for (const fn of this.shutdownHooks) await fn();
      this.client.terminate();
      const r = await wipeBrowserStorage({
        keepCaches: keepModels ? [MODEL_CACHE_NAME] : [],
        keepLocalStorage: [MODEL_HOST_KEY],
      });
      const here = new URL(location.href);
      const next = new URL(here.pathname, here.origin);
      const host = here.searchParams.get('modelHost');
      if (host) next.searchParams.set('modelHost', host);
      next.searchParams.set('sample', '0');
      next.searchParams.set(
        'cleared',
        [r.caches, r.databases, r.opfsEntries, r.storageKeys, keepModels ? 1 : 0].join('.'),
      );
      location.replace(next.href);
    } catch (e) {
      this.s.patch({ loading: null });
      this.report(toAppError(e, 'internal', 'Clearing the session'));
      await this.restartWorker();
    }
  }

  setLenientDicom(on: boolean): void {
    this.s.patch({ lenientDicom: on });
  }

  setModelHost(url: string): void {
    this.host = url.replace(/\/+$/, '');
    localStorage.setItem(MODEL_HOST_KEY, this.host);
  }

  // ---- batch bridge ---------------------------------------------------------------------------

  /** Where the loaded models came from, so the batch worker can load the same ones. */
  batchModelSources(appBase: string): ModelSourceMsg[] {
    const out: ModelSourceMsg[] = [];
    for (const slot of SLOTS) {
      const src = this.sources[slot];
      if (src?.presetId) out.push({ slot, kind: 'preset', presetId: src.presetId, host: this.host, appBase });
      else if (src?.files) out.push({ slot, kind: 'local', files: src.files });
    }
    return out;
  }

  /** Opens one batch unit (a case, slice and structure with its prompts) in the comparison view. */
  async showUnit(
    study: Study,
    slice: number,
    label: number,
    points: readonly PromptPoint[],
    box: PromptBox | null,
  ): Promise<void> {
    await this.setStudy(study, null);
    this.s.patch({ structure: label });
    this.setSlice(slice);
    this.afterSliceChange(slice);
    this.pushPrompt({ points, box });
    this.s.patch({ activeTab: 'compare' });
  }

  // ---- export -------------------------------------------------------------------------------

  private exportBase(): string {
    const study = this.s.study;
    const st = study?.structures.find((x) => x.value === this.s.structure);
    const safe = (t: string) => t.replace(/[^a-zA-Z0-9._-]+/g, '_').slice(0, 60);
    return `${safe(study?.name ?? 'study')}_slice${this.s.slice}_${safe(st?.name ?? 'structure')}`;
  }

  provenanceRecord(): Record<string, unknown> {
    const s = this.s;
    return {
      app: { name: 'sam-compare', version: APP_VERSION },
      date: new Date().toISOString(),
      study: s.study
        ? {
            id: s.study.id,
            name: s.study.name,
            format: s.study.format,
            modality: s.study.modality,
            gt: s.study.gt,
          }
        : null,
      slice: s.slice,
      structure: s.study?.structures.find((x) => x.value === s.structure) ?? null,
      window: describeWindow(s.modelWindow),
      prompts: { points: s.points.map((p) => [p.x, p.y, p.label]), box: s.box },
      selectionRule: s.rule,
      models: Object.fromEntries(
        SLOTS.map((slot) => [
          slot,
          {
            ...this.provenance[slot],
            provider: s.models[slot].provider,
            threads: s.models[slot].threads,
            metrics: s.results[slot].metrics,
            encodeMs: s.results[slot].encodeMs,
            decodeMs: s.results[slot].decodeMs,
            decodeWorker: s.results[slot].decodeWorker,
            decodeThreads: s.results[slot].decodeThreads,
          },
        ]),
      ),
    };
  }

  async exportMasks(kind: 'png' | 'nifti' | 'dicom-seg'): Promise<void> {
    await this.guard('Export', () => {
      const study = this.study;
      if (!study) throw new AppError('invalid-argument', 'Nothing to export yet: open a study and click.');
      const masks = SLOTS.map((slot) => ({ slot, mask: this.selectedMask(slot) })).filter((m) => m.mask);
      if (masks.length === 0)
        throw new AppError('invalid-argument', 'No mask to export yet: click on the image first.');
      const base = this.exportBase();
      for (const { slot, mask } of masks) {
        if (!mask) continue;
        const name = `${base}_${slot === 'sam' ? 'SAM' : 'SAM2'}`;
        if (kind === 'png') {
          const data = mask.data.map((v) => (v ? 255 : 0));
          saveBytes(
            `${name}.png`,
            encodePng({ width: mask.width, height: mask.height, data, channels: 1, depth: 8 }),
            'image/png',
          );
        } else if (kind === 'nifti') {
          const [nx, ny, nz] = study.image.dims;
          const vol = new Uint8Array(nx * ny * nz);
          vol.set(mask.data, this.s.slice * nx * ny);
          const src = toSourceGrid(vol, study.image, study.sourceGeometry);
          saveBytes(
            `${name}.nii`,
            writeNifti({ ...study.sourceGeometry, data: src }, 'uint8', `sam-compare ${slot} mask`),
          );
        } else {
          const d = study.dicom;
          if (!study.isDicom || !d || !study.frameOfReference)
            throw new AppError(
              'unsupported-format',
              'DICOM SEG export needs a DICOM source series (with a frame of reference).',
            );
          const [nx, ny, nz] = study.image.dims;
          const vol = new Uint8Array(nx * ny * nz);
          vol.set(mask.data, this.s.slice * nx * ny);
          const structure =
            this.s.study?.structures.find((x) => x.value === this.s.structure)?.name ?? 'structure';
          const bytes = writeDicomSeg({
            labels: { ...study.sourceGeometry, data: toSourceGrid(vol, study.image, study.sourceGeometry) },
            segments: [
              {
                number: 1,
                label: `${slot === 'sam' ? 'SAM' : 'SAM 2'} ${structure}`.slice(0, 64),
                algorithmType: 'AUTOMATIC',
                algorithmName: this.s.models[slot].label.slice(0, 64),
              },
            ],
            frameOfReference: study.frameOfReference,
            studyInstanceUid: d.studyUid,
            seriesInstanceUid: d.seriesUid,
            sourceSopInstanceUids: d.sopInstanceUids,
            sourceSopClassUid: d.sopClassUid,
            seed: `${study.id}|${slot}|${this.s.slice}|${this.s.structure ?? 0}|${JSON.stringify(this.s.points)}`,
            seriesDescription: `${slot === 'sam' ? 'SAM' : 'SAM 2'} mask (sam-compare)`,
          });
          saveBytes(`${name}.seg.dcm`, bytes, 'application/dicom');
        }
      }
      saveBytes(
        `${base}_provenance.json`,
        new TextEncoder().encode(JSON.stringify(this.provenanceRecord(), null, 2)),
        'application/json',
      );
      this.s.toast(
        'info',
        `Exported ${masks.length} mask${masks.length === 1 ? '' : 's'} (${kind.toUpperCase()}) with provenance.`,
      );
      return Promise.resolve();
    });
  }

  async screenshot(): Promise<void> {
    const blob = await this.viewer?.screenshot();
    if (!blob) {
      this.s.toast('warn', 'Nothing to capture yet.');
      return;
    }
    saveBytes(`${this.exportBase()}_comparison.png`, blob, 'image/png');
  }

  // ---- errors -------------------------------------------------------------------------------

  private report(err: AppError): void {
    this.s.toast('error', err.message, err.detail);
  }

  private async guard(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.s.patch({ loading: null });
      this.report(toAppError(e, 'internal', what));
    }
  }
}

// ---- helpers ----------------------------------------------------------------------------------

interface WindowPreset {
  readonly id: string;
  readonly label: string;
  readonly window: IntensityWindow;
}

export function windowPresets(is8bit: boolean): WindowPreset[] {
  return [
    ...CT_PRESETS.map((p): WindowPreset => ({
      id: p.id,
      label: `CT ${p.label}`,
      window: { kind: 'window', center: p.center, width: p.width },
    })),
    {
      id: 'percentile',
      label: 'Percentile 0.5–99.5 (slice)',
      window: { kind: 'percentile', lower: 0.5, upper: 99.5, scope: 'slice' },
    },
    {
      id: 'percentile-volume',
      label: 'Percentile 0.5–99.5 (volume)',
      window: { kind: 'percentile', lower: 0.5, upper: 99.5, scope: 'volume' },
    },
    ...(is8bit
      ? [{ id: 'identity', label: '8-bit as stored', window: { kind: 'identity' } as IntensityWindow }]
      : []),
  ];
}

function windowPresetById(id: string, is8bit: boolean): WindowPreset {
  const all = windowPresets(is8bit);
  return (
    all.find((p) => p.id === id) ??
    all[0] ?? {
      id: 'abdomen',
      label: 'abdomen',
      window: { kind: 'window', ...windowBounds(40, 400), center: 40, width: 400 },
    }
  );
}

function defaultPreset(m: Modality, is8bit: boolean): WindowPreset {
  if (is8bit) return windowPresetById('identity', true);
  return windowPresetById(m === 'CT' ? 'abdomen' : 'percentile', false);
}
