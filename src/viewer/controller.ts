/**
 * The comparison viewer: two synchronized Cornerstone3D stack viewports ("SAM" and "SAM 2") over the same
 * slice, with overlays drawn on top. An imperative controller: the app calls it, it emits events
 * (prompt, box, slice, voi, rendered, context-lost). It is the only module that touches Cornerstone.
 *
 * Interaction (identical on both panes, mirrored on the other):
 *   left click → positive click · right click or Alt+click → negative click · Shift+drag → box
 *   left drag → window/level · middle drag or Ctrl+drag → pan · right drag → zoom · wheel → slice
 */
import {
  cache,
  Enums,
  eventTarget,
  imageLoader,
  init as csInit,
  isCornerstoneInitialized,
  metaData,
  RenderingEngine,
  type Types,
} from '@cornerstonejs/core';
import { invertAffine, type Affine2 } from '../core/geometry';
import type { Mask, ScalarArray, Volume } from '../core/image/types';
import type { Slot } from '../core/evaluation';
import { promptPoint, type PromptBox, type PromptPoint } from '../core/prompts/types';
import { COLORS, contourPath, drawOverlay, MaskPainter, type OverlayScene } from './overlay';

/** One pane per compared model. */
export type PaneId = Slot;
export const PANES: readonly PaneId[] = ['sam', 'sam2'];

export interface ViewerStudy {
  readonly id: string;
  readonly volume: Volume;
}

export interface ViewerEvents {
  prompt: { readonly point: PromptPoint };
  box: { readonly box: PromptBox };
  slice: { readonly index: number };
  voi: { readonly low: number; readonly high: number };
  rendered: { readonly pane: PaneId; readonly slice: number };
  'context-lost': { readonly pane: PaneId };
  'load-error': { readonly message: string };
}
type Listener<K extends keyof ViewerEvents> = (e: ViewerEvents[K]) => void;

interface Pane {
  readonly id: PaneId;
  readonly element: HTMLDivElement;
  readonly canvas: HTMLCanvasElement;
  viewport: Types.IStackViewport | null;
  scene: OverlayScene;
  readonly painter: MaskPainter;
}

/** Modality per study id, for the metadata Cornerstone asks about our in-memory slices. */
const studyModality = new Map<string, string>();

function ensureInit(): void {
  if (isCornerstoneInitialized()) return;
  // Cornerstone's CPU path draws one 2D slice per pane exactly and fast enough, and needs no WebGL
  // context. Its GPU path rendered our in-memory float slices with inverted grey levels under
  // SwiftShader (docs/viewer.md), so the GPU path is opt-in with ?gpu=1.
  const gpu = new URLSearchParams(location.search).get('gpu') === '1';
  csInit({ rendering: { useCPURendering: !gpu } } as Parameters<typeof csInit>[0]);
  metaData.addProvider((type: string, imageId: string) => {
    if (!imageId.startsWith('samcmp:')) return undefined;
    const study = imageId.split(':')[1] ?? '';
    if (type === 'generalSeriesModule')
      return { modality: studyModality.get(study) ?? 'OT', seriesInstanceUID: `samcmp.${study}` };
    return undefined;
  }, 10_000);
}

/**
 * Cornerstone local images accept Uint8/Uint16/Int16/Float32, but signed 16-bit local images render as
 * unsigned (air at −1000 HU turns white): signed and wider types are shown as Float32.
 */
function displayArray(a: ScalarArray): Uint8Array | Uint16Array | Float32Array {
  if (a instanceof Uint8Array || a instanceof Uint16Array || a instanceof Float32Array) return a;
  return Float32Array.from(a);
}

const EMPTY_SCENE: OverlayScene = {
  mask: null,
  maskSize: null,
  gt: null,
  points: [],
  box: null,
  draft: null,
  showGt: true,
  showMask: true,
};

export class ViewerController {
  private engine: RenderingEngine | null = null;
  private panes: Pane[] = [];
  private study: ViewerStudy | null = null;
  private display: Uint8Array | Uint16Array | Float32Array | null = null;
  private imageIds: string[] = [];
  private created = new Set<string>();
  private sliceIndex = 0;
  private voi = { low: 0, high: 1 };
  private readonly listeners = new Map<keyof ViewerEvents, Set<(e: never) => void>>();
  private syncing = false;
  private resizeObserver: ResizeObserver | null = null;
  private destroyed = false;
  /** Removes every DOM listener this controller added: the pane elements outlive it (React remounts). */
  private readonly teardown = new AbortController();

  on<K extends keyof ViewerEvents>(type: K, cb: Listener<K>): () => void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(cb);
    return () => set.delete(cb);
  }

  private emit<K extends keyof ViewerEvents>(type: K, e: ViewerEvents[K]): void {
    for (const cb of this.listeners.get(type) ?? []) (cb as Listener<K>)(e);
  }

  async mount(elements: Record<PaneId, HTMLDivElement>): Promise<void> {
    ensureInit();
    await Promise.resolve();
    if (this.destroyed) return;
    this.engine = new RenderingEngine(`samcmp-${Math.random().toString(36).slice(2)}`);
    this.engine.setViewports(
      PANES.map((id) => ({
        viewportId: id,
        type: Enums.ViewportType.STACK,
        element: elements[id],
        defaultOptions: { background: [0, 0, 0] as Types.Point3 },
      })),
    );
    this.panes = PANES.map((id) => {
      const element = elements[id];
      const canvas = document.createElement('canvas');
      canvas.className = 'overlay-canvas';
      canvas.setAttribute('data-testid', `overlay-${id}`);
      element.appendChild(canvas);
      const pane: Pane = {
        id,
        element,
        canvas,
        viewport: null,
        scene: EMPTY_SCENE,
        painter: new MaskPainter(),
      };
      pane.viewport = this.engine?.getViewport(id) as Types.IStackViewport;
      this.attachInteraction(pane);
      const { signal } = this.teardown;
      element.addEventListener(
        Enums.Events.IMAGE_RENDERED,
        () => {
          this.redraw(pane);
          this.emit('rendered', { pane: id, slice: this.sliceIndex });
        },
        { signal },
      );
      element.addEventListener(
        Enums.Events.CAMERA_MODIFIED,
        () => {
          this.redraw(pane);
        },
        { signal },
      );
      element.querySelectorAll('canvas').forEach((c) => {
        c.addEventListener(
          'webglcontextlost',
          () => {
            this.emit('context-lost', { pane: id });
          },
          { signal },
        );
      });
      return pane;
    });
    // Cornerstone's event target is global and outlives this controller: the listener is removed in
    // destroy(), or every remount (React StrictMode mounts twice) would add one more that reports the
    // same load error again, from a destroyed viewer.
    eventTarget.addEventListener(Enums.Events.IMAGE_LOAD_ERROR, this.onImageLoadError);
    this.resizeObserver = new ResizeObserver(() => {
      this.engine?.resize(true, false);
      for (const p of this.panes) this.redraw(p);
    });
    for (const p of this.panes) this.resizeObserver.observe(p.element);
  }

  private readonly onImageLoadError = (ev: Event): void => {
    const detail = (ev as CustomEvent<unknown>).detail;
    // Either { error } from errorCallback, or a list of settled rejections from loadImages.
    const err = Array.isArray(detail)
      ? (detail[0] as { reason?: unknown } | undefined)?.reason
      : (detail as { error?: unknown } | null)?.error;
    console.error('cornerstone image load error', err);
    this.emit('load-error', {
      message: `Slice could not be displayed (${err instanceof Error ? err.message : String(err)})`,
    });
  };

  get currentSlice(): number {
    return this.sliceIndex;
  }

  get sliceCount(): number {
    return this.study?.volume.dims[2] ?? 0;
  }

  private sliceImageId(k: number): string {
    const id = this.imageIds[k];
    if (!id) throw new RangeError(`slice ${k} out of range`);
    if (!this.created.has(id) && this.study && this.display) {
      const v = this.study.volume;
      const [nx, ny] = v.dims;
      const n = nx * ny;
      const d = v.direction;
      const origin = [0, 1, 2].map(
        (i) => (v.origin[i] ?? 0) + (d[6 + i] ?? 0) * v.spacing[2] * k,
      ) as Types.Point3;
      imageLoader.createAndCacheLocalImage(id, {
        scalarData: this.display.slice(k * n, (k + 1) * n),
        dimensions: [nx, ny],
        spacing: [v.spacing[0], v.spacing[1]],
        origin,
        direction: [d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8]] as Types.Mat3,
        frameOfReferenceUID: `samcmp-${this.study.id}`,
      });
      this.created.add(id);
    }
    return id;
  }

  /** Shows a (canonical) volume on both panes at `slice`, with a display window. */
  async setStudy(study: ViewerStudy, slice: number, voi: { low: number; high: number }): Promise<void> {
    this.clearImages();
    this.study = study;
    studyModality.set(study.id, study.volume.modality);
    this.display = displayArray(study.volume.data);
    const nz = study.volume.dims[2];
    this.imageIds = Array.from({ length: nz }, (_, k) => `samcmp:${study.id}:${k}`);
    this.sliceIndex = Math.min(Math.max(0, slice), nz - 1);
    this.voi = voi;
    for (const p of this.panes) p.scene = EMPTY_SCENE;
    const first = this.sliceImageId(this.sliceIndex);
    await Promise.all(
      this.panes.map(async (p) => {
        if (!p.viewport) return;
        // Only the current slice is created up front; others on demand.
        await p.viewport.setStack([first], 0);
        p.viewport.setProperties({ voiRange: { lower: voi.low, upper: voi.high } });
        p.viewport.resetCamera();
        p.viewport.render();
      }),
    );
  }

  private clearImages(): void {
    for (const id of this.created) cache.removeImageLoadObject(id, { force: true });
    this.created.clear();
  }

  async setSlice(k: number): Promise<void> {
    if (!this.study) return;
    const nz = this.study.volume.dims[2];
    const next = Math.min(Math.max(0, Math.round(k)), nz - 1);
    if (
      next === this.sliceIndex &&
      this.panes.every((p) => p.viewport?.getCurrentImageId() === this.imageIds[next])
    )
      return;
    this.sliceIndex = next;
    const id = this.sliceImageId(next);
    const cams = this.panes.map((p) => p.viewport?.getCamera());
    await Promise.all(
      this.panes.map(async (p, i) => {
        if (!p.viewport) return;
        await p.viewport.setStack([id], 0);
        p.viewport.setProperties({ voiRange: { lower: this.voi.low, upper: this.voi.high } });
        const cam = cams[i];
        if (cam)
          p.viewport.setCamera({
            parallelScale: cam.parallelScale,
            focalPoint: cam.focalPoint,
            position: cam.position,
          });
        p.viewport.render();
      }),
    );
    this.emit('slice', { index: next });
  }

  setVoi(low: number, high: number): void {
    if (!(high > low)) return;
    this.voi = { low, high };
    for (const p of this.panes) {
      p.viewport?.setProperties({ voiRange: { lower: low, upper: high } });
      p.viewport?.render();
    }
    this.emit('voi', { low, high });
  }

  get currentVoi(): { low: number; high: number } {
    return this.voi;
  }

  resetView(): void {
    for (const p of this.panes) {
      p.viewport?.resetCamera();
      p.viewport?.render();
    }
  }

  setMask(pane: PaneId, mask: Mask | null): void {
    const p = this.panes.find((x) => x.id === pane);
    if (!p) return;
    p.scene = {
      ...p.scene,
      mask: mask ? p.painter.paint(mask, pane === 'sam' ? COLORS.sam : COLORS.sam2) : null,
      maskSize: mask ? { width: mask.width, height: mask.height } : null,
    };
    this.redraw(p);
  }

  setGroundTruth(mask: Mask | null): void {
    const path = mask ? contourPath(mask) : null;
    for (const p of this.panes) {
      p.scene = { ...p.scene, gt: path };
      this.redraw(p);
    }
  }

  setPrompts(points: readonly PromptPoint[], box: PromptBox | null): void {
    for (const p of this.panes) {
      p.scene = { ...p.scene, points, box };
      this.redraw(p);
    }
  }

  setVisibility(v: { gt?: boolean; masks?: boolean }): void {
    for (const p of this.panes) {
      p.scene = {
        ...p.scene,
        ...(v.gt === undefined ? {} : { showGt: v.gt }),
        ...(v.masks === undefined ? {} : { showMask: v.masks }),
      };
      this.redraw(p);
    }
  }

  /** Image px → CSS px of a pane's canvas, from three projected points (exact for the affine camera). */
  private imageToCanvas(p: Pane): Affine2 | null {
    const vp = p.viewport;
    const v = this.study?.volume;
    if (!vp || !v) return null;
    const d = v.direction;
    const k = this.sliceIndex;
    const w = (x: number, y: number): Types.Point3 =>
      [0, 1, 2].map(
        (i) =>
          (v.origin[i] ?? 0) +
          (d[i] ?? 0) * v.spacing[0] * x +
          (d[3 + i] ?? 0) * v.spacing[1] * y +
          (d[6 + i] ?? 0) * v.spacing[2] * k,
      ) as Types.Point3;
    const o = vp.worldToCanvas(w(0, 0));
    const ex = vp.worldToCanvas(w(1, 0));
    const ey = vp.worldToCanvas(w(0, 1));
    return [ex[0] - o[0], ey[0] - o[0], o[0], ex[1] - o[1], ey[1] - o[1], o[1]];
  }

  /** CSS px on a pane → continuous ImagePx. */
  canvasToImage(pane: PaneId, x: number, y: number): { x: number; y: number } | null {
    const p = this.panes.find((q) => q.id === pane);
    const m = p ? this.imageToCanvas(p) : null;
    if (!m) return null;
    const inv = invertAffine(m);
    return { x: inv[0] * x + inv[1] * y + inv[2], y: inv[3] * x + inv[4] * y + inv[5] };
  }

  /** ImagePx → CSS px on a pane (tests click through this to hit exact pixels). */
  imageToCanvasPoint(pane: PaneId, x: number, y: number): { x: number; y: number } | null {
    const p = this.panes.find((q) => q.id === pane);
    const m = p ? this.imageToCanvas(p) : null;
    if (!m) return null;
    return { x: m[0] * x + m[1] * y + m[2], y: m[3] * x + m[4] * y + m[5] };
  }

  private redraw(p: Pane): void {
    const rect = p.element.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const W = Math.max(1, Math.round(rect.width * dpr));
    const H = Math.max(1, Math.round(rect.height * dpr));
    if (p.canvas.width !== W || p.canvas.height !== H) {
      p.canvas.width = W;
      p.canvas.height = H;
    }
    const ctx = p.canvas.getContext('2d');
    const m = this.imageToCanvas(p);
    if (!ctx || !m) return;
    drawOverlay(ctx, dpr, m, p.scene);
  }

  private syncCamera(from: Pane): void {
    if (this.syncing || !from.viewport) return;
    this.syncing = true;
    const cam = from.viewport.getCamera();
    for (const p of this.panes) {
      if (p === from || !p.viewport) continue;
      p.viewport.setCamera({
        parallelScale: cam.parallelScale,
        focalPoint: cam.focalPoint,
        position: cam.position,
      });
      p.viewport.render();
    }
    from.viewport.render();
    this.syncing = false;
  }

  private attachInteraction(p: Pane): void {
    const el = p.element;
    let start: {
      x: number;
      y: number;
      button: number;
      shift: boolean;
      alt: boolean;
      ctrl: boolean;
      cam: Types.ICamera | null;
      voi: { low: number; high: number };
    } | null = null;
    let dragging = false;
    const local = (ev: MouseEvent) => {
      const r = el.getBoundingClientRect();
      return { x: ev.clientX - r.left, y: ev.clientY - r.top };
    };
    const { signal } = this.teardown;
    el.addEventListener(
      'contextmenu',
      (ev) => {
        ev.preventDefault();
      },
      { signal },
    );
    el.addEventListener(
      'pointerdown',
      (ev) => {
        const pos = local(ev);
        start = {
          ...pos,
          button: ev.button,
          shift: ev.shiftKey,
          alt: ev.altKey,
          ctrl: ev.ctrlKey || ev.metaKey,
          cam: p.viewport?.getCamera() ?? null,
          voi: { ...this.voi },
        };
        dragging = false;
        el.setPointerCapture(ev.pointerId);
        ev.preventDefault();
      },
      { signal },
    );
    el.addEventListener(
      'pointermove',
      (ev) => {
        if (!start || !p.viewport) return;
        const pos = local(ev);
        const dx = pos.x - start.x;
        const dy = pos.y - start.y;
        if (!dragging && Math.hypot(dx, dy) < 4) return;
        dragging = true;
        if (start.button === 0 && start.shift) {
          const a = this.canvasToImage(p.id, start.x, start.y);
          const b = this.canvasToImage(p.id, pos.x, pos.y);
          if (a && b) {
            const draft = this.clampBox(a, b);
            for (const q of this.panes) {
              q.scene = { ...q.scene, draft };
              this.redraw(q);
            }
          }
        } else if (start.button === 1 || (start.button === 0 && start.ctrl)) {
          const cam = start.cam;
          const a = cam ? p.viewport.canvasToWorld([start.x, start.y]) : null;
          const b = cam ? p.viewport.canvasToWorld([pos.x, pos.y]) : null;
          if (cam?.focalPoint && cam.position && a && b) {
            const delta = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
            const fp = cam.focalPoint.map((v, i) => v + (delta[i] ?? 0)) as Types.Point3;
            const pos3 = cam.position.map((v, i) => v + (delta[i] ?? 0)) as Types.Point3;
            p.viewport.setCamera({ focalPoint: fp, position: pos3 });
            this.syncCamera(p);
          }
        } else if (start.button === 2) {
          const cam = start.cam;
          if (cam?.parallelScale) {
            p.viewport.setCamera({ parallelScale: cam.parallelScale * Math.exp(dy / 200) });
            this.syncCamera(p);
          }
        } else if (start.button === 0) {
          const w0 = start.voi.high - start.voi.low;
          const c0 = (start.voi.high + start.voi.low) / 2;
          const k = Math.max(w0, 1) / 200;
          const w = Math.max(1e-3, w0 + dx * k);
          const c = c0 + dy * k;
          this.setVoi(c - w / 2, c + w / 2);
        }
      },
      { signal },
    );
    el.addEventListener(
      'pointerup',
      (ev) => {
        if (!start) return;
        const pos = local(ev);
        const s = start;
        start = null;
        for (const q of this.panes) q.scene = { ...q.scene, draft: null };
        if (dragging && s.button === 0 && s.shift) {
          const a = this.canvasToImage(p.id, s.x, s.y);
          const b = this.canvasToImage(p.id, pos.x, pos.y);
          if (a && b) this.emit('box', { box: this.clampBox(a, b) });
          return;
        }
        if (dragging) return;
        const img = this.canvasToImage(p.id, pos.x, pos.y);
        const v = this.study?.volume;
        if (!img || !v) return;
        const x = Math.round(img.x);
        const y = Math.round(img.y);
        if (x < 0 || y < 0 || x >= v.dims[0] || y >= v.dims[1]) return;
        const negative = s.button === 2 || (s.button === 0 && s.alt);
        if (s.button === 0 || s.button === 2)
          this.emit('prompt', { point: promptPoint(x, y, negative ? 0 : 1) });
      },
      { signal },
    );
    el.addEventListener(
      'wheel',
      (ev) => {
        ev.preventDefault();
        if (ev.ctrlKey && p.viewport) {
          const cam = p.viewport.getCamera();
          if (cam.parallelScale)
            p.viewport.setCamera({ parallelScale: cam.parallelScale * Math.exp(ev.deltaY / 500) });
          this.syncCamera(p);
          return;
        }
        void this.setSlice(this.sliceIndex + (ev.deltaY > 0 ? 1 : -1));
      },
      { passive: false, signal },
    );
  }

  private clampBox(a: { x: number; y: number }, b: { x: number; y: number }): PromptBox {
    const v = this.study?.volume;
    const W = (v?.dims[0] ?? 1) - 1;
    const H = (v?.dims[1] ?? 1) - 1;
    const cx = (t: number) => Math.min(W, Math.max(0, Math.round(t)));
    const cy = (t: number) => Math.min(H, Math.max(0, Math.round(t)));
    return {
      x0: cx(Math.min(a.x, b.x)),
      y0: cy(Math.min(a.y, b.y)),
      x1: cx(Math.max(a.x, b.x)),
      y1: cy(Math.max(a.y, b.y)),
    };
  }

  /** Both panes and their overlays as one PNG (what the user sees). */
  async screenshot(): Promise<Blob | null> {
    const parts = this.panes.map((p) => {
      const base = p.element.querySelector<HTMLCanvasElement>('canvas:not(.overlay-canvas)');
      return { base, overlay: p.canvas };
    });
    const w = parts.reduce((a, q) => a + (q.overlay.width || 0), 0);
    const h = Math.max(...parts.map((q) => q.overlay.height || 0));
    if (!w || !h) return null;
    const out = document.createElement('canvas');
    out.width = w;
    out.height = h;
    const ctx = out.getContext('2d');
    if (!ctx) return null;
    let x = 0;
    for (const q of parts) {
      if (q.base) ctx.drawImage(q.base, x, 0, q.overlay.width, q.overlay.height);
      ctx.drawImage(q.overlay, x, 0);
      x += q.overlay.width;
    }
    return await new Promise((r) => {
      out.toBlob(r, 'image/png');
    });
  }

  destroy(): void {
    this.destroyed = true;
    eventTarget.removeEventListener(Enums.Events.IMAGE_LOAD_ERROR, this.onImageLoadError);
    this.teardown.abort();
    this.listeners.clear();
    this.resizeObserver?.disconnect();
    this.clearImages();
    this.engine?.destroy();
    this.engine = null;
    for (const p of this.panes) p.canvas.remove();
    this.panes = [];
  }
}
