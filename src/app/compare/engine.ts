/**
 * The comparison engine: composes the session (study, slice, structure, window, prompts, viewer),
 * inference (worker, encodes, decodes, selection), models (presets, local files, cache, host), study
 * opening and exports, and is what the UI calls through the CompareActions interface. React reads the
 * store; tests reach this object as `window.samCompare.engine`.
 */
import { toAppError } from '../../core/errors';
import type { Mask, Modality } from '../../core/image/types';
import type { FrameDecoder } from '../../core/io/dicom';
import type { Study } from '../../core/io/study';
import type { SelectionRule } from '../../core/models/selection';
import type { PromptBox, PromptPoint } from '../../core/prompts/types';
import type { InferenceClient } from '../../runtime/client';
import { MODEL_CACHE_NAME } from '../../runtime/model-fetch';
import { useCompareStore, type Slot } from '../../state/compare';
import { useRuntimeStore } from '../../state/runtime';
import type { CachedModelInfo, CompareActions } from '../../state/services';
import type { ViewerController } from '../../viewer/controller';
import type { ModelSourceMsg } from '../batch-protocol';
import { wipeBrowserStorage } from '../clear-session';
import { exportMasks, provenanceRecord, screenshot, type ExportSource } from './exports';
import { guard, report } from './feedback';
import { Inference, type CandidateView } from './inference';
import { Models, MODEL_HOST_KEY } from './models';
import { StudyOpener, type OpenRole } from './open';
import { Session } from './session';

export interface EngineDeps {
  readonly createClient: () => InferenceClient;
  /** Decodes compressed DICOM frames (Cornerstone's codecs, provided by the composition root). */
  readonly frameDecoder?: FrameDecoder;
  readonly appBase: string;
  readonly defaultModelHost: string;
}

export class CompareEngine implements CompareActions {
  private readonly session = new Session();
  private readonly inference: Inference;
  private readonly models: Models;
  private readonly opener: StudyOpener;
  private readonly exportSource: ExportSource;
  private readonly shutdownHooks: (() => Promise<void>)[] = [];

  constructor(deps: EngineDeps) {
    const session = this.session;
    this.inference = new Inference(deps.createClient, {
      study: () => session.study,
      viewer: () => session.viewer,
      gtMask: () => session.gtMask(),
      reloadModel: (slot) => this.models.reload(slot),
    });
    session.connect(this.inference);
    this.models = new Models(this.inference, deps.appBase, deps.defaultModelHost);
    this.opener = new StudyOpener(session, deps.appBase, deps.frameDecoder);
    this.exportSource = {
      study: () => session.study,
      viewer: () => session.viewer,
      selectedMask: (slot) => this.inference.selectedMask(slot),
      provenance: (slot) => this.models.provenance(slot),
    };
  }

  /** The viewer while one is mounted (e2e page objects map image pixels to the canvas with it). */
  get viewer(): ViewerController | null {
    return this.session.viewer;
  }

  /** The current inference worker client (e2e asks it to lose its GPU device). */
  get client(): InferenceClient {
    return this.inference.client;
  }

  // ---- viewer and study ------------------------------------------------------------------------

  mountViewer(elements: { sam: HTMLDivElement; sam2: HTMLDivElement }): Promise<() => void> {
    return this.session.mountViewer(elements);
  }

  openSample(): Promise<void> {
    return this.opener.openSample();
  }

  openFiles(files: readonly File[], role: OpenRole): Promise<void> {
    return this.opener.openFiles(files, role);
  }

  openDrop(dt: DataTransfer, role: OpenRole): Promise<void> {
    return this.opener.openDrop(dt, role);
  }

  setModality(m: Modality): void {
    this.session.setModality(m);
  }

  setWindowPreset(id: string): void {
    this.session.setWindowPreset(id);
  }

  setSlice(k: number): void {
    this.session.setSlice(k);
  }

  setStructure(value: number): void {
    this.session.setStructure(value);
  }

  setLenientDicom(on: boolean): void {
    useCompareStore.getState().patch({ lenientDicom: on });
  }

  // ---- prompts and view ------------------------------------------------------------------------

  undo(): void {
    this.session.undo();
  }

  redo(): void {
    this.session.redo();
  }

  clearPrompts(): void {
    this.session.clearPrompts();
  }

  autoPrompt(): void {
    this.session.autoPrompt();
  }

  setRule(rule: SelectionRule): void {
    this.session.setRule(rule);
  }

  resetView(): void {
    this.session.resetView();
  }

  toggle(what: 'gt' | 'masks'): void {
    this.session.toggle(what);
  }

  // ---- results ---------------------------------------------------------------------------------

  selectedMask(slot: Slot): Mask | null {
    return this.inference.selectedMask(slot);
  }

  candidate(slot: Slot, index: number): CandidateView | null {
    return this.inference.candidate(slot, index);
  }

  // ---- models and runtime ----------------------------------------------------------------------

  loadPreset(slot: Slot, presetId: string): Promise<void> {
    return this.models.loadPreset(slot, presetId);
  }

  loadLocalModel(slot: Slot, files: readonly File[]): Promise<void> {
    return this.models.loadLocalModel(slot, files);
  }

  cancelDownload(slot: Slot): void {
    this.models.cancelDownload(slot);
  }

  listCachedModels(): Promise<CachedModelInfo[]> {
    return this.models.listCachedModels();
  }

  deleteCachedModel(url: string): Promise<void> {
    return this.models.deleteCachedModel(url);
  }

  modelHost(): string {
    return this.models.modelHost();
  }

  setModelHost(url: string): void {
    this.models.setModelHost(url);
  }

  async retryGpu(): Promise<void> {
    useRuntimeStore.getState().setProviderPreference('webgpu');
    await this.inference.restartWorker();
  }

  async switchToWasm(): Promise<void> {
    useRuntimeStore.getState().setProviderPreference('wasm');
    await this.inference.restartWorker();
  }

  /** For tests and diagnostics: asks the worker to destroy its GPU device (as a driver reset would). */
  simulateGpuLoss(): Promise<void> {
    return this.inference.simulateGpuLoss();
  }

  // ---- exports ---------------------------------------------------------------------------------

  provenanceRecord(): Record<string, unknown> {
    return provenanceRecord(this.exportSource);
  }

  async exportMasks(kind: 'png' | 'nifti' | 'dicom-seg'): Promise<void> {
    await guard('Export', () => {
      exportMasks(this.exportSource, kind);
      return Promise.resolve();
    });
  }

  screenshot(): Promise<void> {
    return screenshot(this.exportSource);
  }

  // ---- session end -----------------------------------------------------------------------------

  /** Other engines (the batch) stop their workers and close their databases before a clear. */
  onShutdown(fn: () => Promise<void>): void {
    this.shutdownHooks.push(fn);
  }

  /**
   * Stops every worker, wipes browser storage (keeping downloaded models if asked) and reloads, so
   * nothing of the session stays in memory or at rest. The reloaded page says what was removed.
   */
  async clearSession(keepModels: boolean): Promise<void> {
    const s = useCompareStore.getState();
    s.patch({ loading: 'Clearing the session…' });
    try {
      for (const fn of this.shutdownHooks) await fn();
      this.inference.terminate();
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
      s.patch({ loading: null });
      report(toAppError(e, 'internal', 'Clearing the session'));
      await this.inference.restartWorker();
    }
  }

  // ---- batch bridge ----------------------------------------------------------------------------

  /** Where the loaded models came from, so the batch worker can load the same ones. */
  batchModelSources(appBase: string): ModelSourceMsg[] {
    return this.models.batchModelSources(appBase);
  }

  /** Opens one batch unit (a case, slice and structure with its prompts) in the comparison view. */
  showUnit(
    study: Study,
    slice: number,
    label: number,
    points: readonly PromptPoint[],
    box: PromptBox | null,
  ): Promise<void> {
    return this.session.showUnit(study, slice, label, points, box);
  }
}
