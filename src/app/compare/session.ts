/**
 * The compare session: the open study, the slice, structure and window, the prompts with their
 * history, and the viewer's wiring (its events in, the overlays out).
 */
import { toAppError } from '../../core/errors';
import { resolveWindow } from '../../core/image/intensity';
import { axialSlice, maskOfLabel } from '../../core/image/volume';
import type { Mask, Modality } from '../../core/image/types';
import type { Study } from '../../core/io/study';
import type { SelectionRule } from '../../core/models/selection';
import { historyKey, PromptHistory, type HistoryView, type PromptState } from '../../core/prompts/history';
import { DEFAULT_PROTOCOL, planPrompts, type ProtocolSettings } from '../../core/prompts/protocol';
import type { PromptBox, PromptPoint } from '../../core/prompts/types';
import { EMPTY_RESULT, SLOT_LABEL, SLOTS, useCompareStore, type StudyMeta } from '../../state/compare';
import type { ViewerController } from '../../viewer/controller';
import { report } from './feedback';
import type { Inference } from './inference';
import { defaultPreset, windowPresetById } from './windows';

type Store = ReturnType<typeof useCompareStore.getState>;

/** What the side panel shows of a study (serializable: no voxels). */
function studyMeta(study: Study): StudyMeta {
  return {
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
}

export class Session {
  private studyNow: Study | null = null;
  private viewerNow: ViewerController | null = null;
  private readonly history = new PromptHistory();
  /** Set once the engine is composed (inference reads the session, the session drives inference). */
  private inf: Inference | null = null;

  private get s(): Store {
    return useCompareStore.getState();
  }

  private get inference(): Inference {
    if (!this.inf) throw new Error('Session used before it was connected to inference');
    return this.inf;
  }

  connect(inference: Inference): void {
    this.inf = inference;
  }

  get study(): Study | null {
    return this.studyNow;
  }

  get viewer(): ViewerController | null {
    return this.viewerNow;
  }

  // ---- viewer ----------------------------------------------------------------------------------

  async mountViewer(elements: { sam: HTMLDivElement; sam2: HTMLDivElement }): Promise<() => void> {
    // Cornerstone3D (with vtk.js) is most of the app's JavaScript: it loads in its own chunk, in parallel
    // with the first render, so the initial bundle stays small.
    const { ViewerController: Viewer } = await import('../../viewer/controller');
    const v: ViewerController = new Viewer();
    await v.mount(elements);
    this.viewerNow = v;
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
    if (this.studyNow) await this.showStudy();
    return () => {
      v.destroy();
      if (this.viewerNow === v) this.viewerNow = null;
    };
  }

  // ---- study -----------------------------------------------------------------------------------

  /** Shows a new study: the preferred structure (by name) or the largest, on its best slice. */
  async setStudy(study: Study, preferStructure: string | null): Promise<void> {
    this.studyNow = study;
    this.history.clear();
    await this.inference.newStudy();
    const preferred = preferStructure ? study.structures.find((s) => s.name === preferStructure) : undefined;
    const largest = [...study.structures].sort((a, b) => Math.max(...b.areas) - Math.max(...a.areas))[0];
    const structure = preferred ?? largest;
    const slice = structure ? structure.bestSlice : Math.floor(study.image.dims[2] / 2);
    const preset = defaultPreset(study.modality, study.is8bit);
    this.s.patch({
      study: studyMeta(study),
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
    void this.inference.encodeCurrent();
  }

  private async showStudy(): Promise<void> {
    const study = this.studyNow;
    if (!study || !this.viewerNow) return;
    const voi = this.displayVoi();
    await this.viewerNow.setStudy({ id: study.id, volume: study.image }, this.s.slice, voi);
    this.refreshSliceOverlays();
  }

  private displayVoi(): { low: number; high: number } {
    const study = this.studyNow;
    if (!study) return { low: 0, high: 1 };
    const r = resolveWindow(this.s.modelWindow, axialSlice(study.image, this.s.slice).data, study.image.data);
    return { low: r.low, high: r.high };
  }

  setModality(m: Modality): void {
    const study = this.studyNow;
    if (!study) return;
    this.studyNow = { ...study, modality: m };
    const p = defaultPreset(m, study.is8bit);
    const meta = this.s.study;
    if (meta) this.s.patch({ study: { ...meta, modality: m } });
    this.setWindowPreset(p.id);
  }

  setWindowPreset(id: string): void {
    const study = this.studyNow;
    if (!study) return;
    const p = windowPresetById(id, study.is8bit);
    this.s.patch({ windowPreset: p.id, modelWindow: p.window });
    const voi = this.displayVoi();
    this.viewerNow?.setVoi(voi.low, voi.high);
    this.inference.forgetEncodings();
    void this.inference.encodeCurrent().then(() => this.inference.decodeAll());
  }

  setSlice(k: number): void {
    const study = this.studyNow;
    if (!study) return;
    const next = Math.min(Math.max(0, Math.round(k)), study.image.dims[2] - 1);
    if (this.viewerNow) void this.viewerNow.setSlice(next);
    else this.afterSliceChange(next);
  }

  afterSliceChange(k: number): void {
    this.s.patch({ slice: k });
    this.inference.invalidateDecodes();
    this.restorePrompts();
    this.refreshSliceOverlays();
    void this.inference.encodeCurrent().then(() => this.inference.decodeAll());
  }

  setStructure(value: number): void {
    if (!this.studyNow) return;
    this.s.patch({ structure: value });
    this.restorePrompts();
    this.refreshSliceOverlays();
    void this.inference.decodeAll();
  }

  /** The ground truth of the current structure on the current slice. */
  gtMask(): Mask | null {
    const study = this.studyNow;
    const v = this.s.structure;
    if (!study?.gt || v === null) return null;
    const sl = axialSlice(study.gt.volume, this.s.slice);
    return maskOfLabel(sl.data, sl.width, sl.height, v);
  }

  private refreshSliceOverlays(): void {
    this.viewerNow?.setGroundTruth(this.gtMask());
    this.viewerNow?.setPrompts(this.s.points, this.s.box);
    for (const slot of SLOTS) this.inference.showSelected(slot);
  }

  // ---- prompts ---------------------------------------------------------------------------------

  private key(): string {
    return historyKey(this.s.slice, this.s.structure);
  }

  pushPrompt(p: PromptState): void {
    if (!this.studyNow) return;
    this.applyPrompts(this.history.push(this.key(), p));
  }

  /** Shows the prompts kept for the current slice and structure (no decode until the next change). */
  private restorePrompts(): void {
    const cur = this.history.view(this.key());
    this.s.patch({
      points: cur.points,
      box: cur.box,
      canUndo: cur.canUndo,
      canRedo: cur.canRedo,
      results: { sam: EMPTY_RESULT, sam2: EMPTY_RESULT },
    });
    this.inference.forgetDecodes();
    this.viewerNow?.setPrompts(cur.points, cur.box);
  }

  private applyPrompts(cur: HistoryView): void {
    this.s.patch({
      points: cur.points,
      box: cur.box,
      canUndo: cur.canUndo,
      canRedo: cur.canRedo,
      revision: this.s.revision + 1,
    });
    this.viewerNow?.setPrompts(cur.points, cur.box);
    this.inference.promptsChanged(this.s.revision);
    void this.inference.decodeAll();
  }

  undo(): void {
    const cur = this.history.undo(this.key());
    if (cur) this.applyPrompts(cur);
  }

  redo(): void {
    const cur = this.history.redo(this.key());
    if (cur) this.applyPrompts(cur);
  }

  clearPrompts(): void {
    if (this.s.points.length === 0 && !this.s.box) return;
    this.pushPrompt({ points: [], box: null });
  }

  autoPrompt(): void {
    const study = this.studyNow;
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
      report(toAppError(e, 'invalid-argument', 'Auto prompt'));
    }
  }

  setRule(rule: SelectionRule): void {
    this.s.patch({ rule });
    for (const slot of SLOTS) this.inference.showSelected(slot);
  }

  resetView(): void {
    this.viewerNow?.resetView();
  }

  toggle(what: 'gt' | 'masks'): void {
    if (what === 'gt') {
      const v = !this.s.showGt;
      this.s.patch({ showGt: v });
      this.viewerNow?.setVisibility({ gt: v });
    } else {
      const v = !this.s.showMasks;
      this.s.patch({ showMasks: v });
      this.viewerNow?.setVisibility({ masks: v });
    }
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
}
