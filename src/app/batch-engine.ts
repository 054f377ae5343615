/**
 * The batch view's engine: dataset drops, the batch worker, run bookkeeping in IndexedDB, exports with
 * provenance, and opening a unit in the comparison viewer.
 */
import { toAppError } from '../core/errors';
import { stringHash } from '../core/hash';
import { readImageFiles } from '../core/io/read-any';
import type { SelectionRule } from '../core/models/selection';
import { BatchStore, type RunMeta } from '../batch/idb-store';
import { loadCase } from '../batch/case-loader';
import type { DatasetPlan, ManualMapping } from '../batch/layouts/types';
import { isErrorRow, RESULT_COLUMNS, toCsv, withStatus, type ResultRow } from '../batch/results';
import { outcomeStatus } from '../batch/runner';
import { PAIRED_COLUMNS, pairedSummary, summarize, SUMMARY_COLUMNS } from '../batch/summary';
import { promptPoint, type PromptBox } from '../core/prompts/types';
import { useBatchStore, type RunListItem } from '../state/batch';
import { useCompareStore } from '../state/compare';
import type { BatchActions } from '../state/services';
import { WorkerBridge, type WorkerLike } from '../runtime/bridge';
import type {
  BatchEvent,
  BatchRequest,
  BatchResults,
  BatchSettings,
  DatasetInput,
  RunResult,
  ScanResult,
} from './batch-protocol';
import { datasetFiles } from './batch-host';
import { cornerstoneFrameDecoder } from '../codecs/dicom-codecs';
import { windowByName } from '../core/image/intensity';
import { appRecord } from '../core/provenance';
import type { CompareEngine } from './compare/engine';
import { saveBytes } from './downloads';
import { filesFromDrop, filesFromInput } from './drop';

const RULES: SelectionRule[] = ['predicted-iou', 'first', 'oracle', 'single'];

export class BatchEngine implements BatchActions {
  private bridge: WorkerBridge<BatchRequest, BatchResults, BatchEvent> | null = null;
  /** The last failure shown, so one crash that rejects several calls is shown once. */
  private shown: unknown = null;
  private files: DatasetInput[] = [];
  private plan: DatasetPlan | null = null;
  private fingerprint = '';
  private readonly store = new BatchStore();

  constructor(
    private readonly compare: CompareEngine,
    private readonly appBase: string,
  ) {}

  private get s() {
    return useBatchStore.getState();
  }

  /**
   * The batch worker behind its bridge: a worker that failed (a script that did not load, a crash)
   * rejects its pending calls, so a run in progress ends as failed; the next action starts a fresh one.
   */
  private ensureBridge(): WorkerBridge<BatchRequest, BatchResults, BatchEvent> {
    if (this.bridge && !this.bridge.closed) return this.bridge;
    const w = new Worker(new URL('./batch-worker.ts', import.meta.url), { type: 'module', name: 'batch' });
    const b = new WorkerBridge<BatchRequest, BatchResults, BatchEvent>(w as unknown as WorkerLike, {
      name: 'batch worker',
      hint: 'Start the run again.',
    });
    b.onEvent((e) => {
      this.onEvent(e);
    });
    this.bridge = b;
    return b;
  }

  /** Stops the batch worker (its database connection closes with it) and closes this side's connection. */
  async shutdown(): Promise<void> {
    this.bridge?.terminate();
    this.bridge = null;
    await this.store.close();
  }

  private call<K extends BatchRequest['kind']>(
    req: Extract<BatchRequest, { kind: K }>,
  ): Promise<BatchResults[K]> {
    return this.ensureBridge().call(req);
  }

  /** A request that failed (in the worker, or because the worker failed): the view leaves 'running'. */
  private failed(e: unknown): void {
    const err = toAppError(e, 'internal', 'Batch');
    // Stopped on purpose (shutdown): nothing to tell.
    if (err.code === 'worker-terminated' || e === this.shown) return;
    this.shown = e;
    this.s.patch({ phase: 'error', status: err.message });
    useCompareStore.getState().toast('error', err.message, err.detail);
  }

  settings(): BatchSettings {
    const s = this.s;
    const w = windowByName(s.windowPreset); // undefined for 'auto': the modality's default
    return {
      protocol: {
        seed: s.seed,
        strategies: s.strategies as BatchSettings['protocol']['strategies'],
        maxPoints: s.maxPoints,
        firstClick: 'centre',
        negatives: 2,
        negMargin: 15,
        boxShift: 5,
        minArea: s.minArea,
      },
      sampling: s.sampling === 'all' ? { kind: 'all' } : { kind: s.sampling, k: s.samplingK },
      ...(w ? { window: w } : {}),
      nsdTolerance: 2,
    };
  }

  async openDatasetDrop(dt: DataTransfer): Promise<void> {
    const files = await filesFromDrop(dt);
    await this.setDataset(files);
  }

  async openDatasetFiles(files: readonly File[]): Promise<void> {
    await this.setDataset(filesFromInput(files));
  }

  private async setDataset(files: DatasetInput[]): Promise<void> {
    if (files.length === 0) return;
    const first = files[0]?.path.split('/') ?? [];
    const rootName =
      first.length > 1 && files.every((f) => f.path.startsWith(`${first[0] ?? ''}/`))
        ? (first[0] ?? 'dataset')
        : 'dataset';
    this.files = files;
    this.mapping = null;
    this.fingerprint = stringHash(
      files
        .map((f) => `${f.path}:${f.file.size}`)
        .sort()
        .join('\n'),
    );
    this.plan = null;
    this.s.patch({
      phase: 'scanning',
      dataset: rootName,
      fileCount: files.length,
      previews: [],
      skipped: [],
      status: 'Reading the folder…',
      rows: [],
      runId: null,
      resumeOf: null,
      errors: [],
      outcome: null,
      progress: null,
    });
    this.scan({ kind: 'scan', files, rootName, settings: this.settings() });
    await this.refreshRuns();
  }

  private mapping: ManualMapping | null = null;

  rescan(): void {
    if (this.files.length === 0 || this.s.phase === 'running' || this.s.phase === 'paused') return;
    const rootName = this.s.dataset ?? 'dataset';
    this.s.patch({ phase: 'scanning', status: 'Counting units…' });
    this.scan({
      kind: 'scan',
      files: this.files,
      rootName,
      settings: this.settings(),
      ...(this.mapping ? { mapping: this.mapping } : {}),
    });
  }

  applyMapping(m: {
    imageGlob: string;
    maskGlob: string;
    pairBy: 'same-stem' | 'stem-prefix';
    modality: 'CT' | 'MR' | 'US' | 'OT';
    valueNames: string;
  }): void {
    const names = new Map<number, string>();
    for (const part of m.valueNames.split(/[,;\n]/)) {
      const hit = /^\s*(\d+)\s*[=:]\s*(.+?)\s*$/.exec(part);
      if (hit) names.set(Number(hit[1]), hit[2] ?? '');
    }
    this.mapping = {
      imageGlob: m.imageGlob,
      maskGlob: m.maskGlob,
      pairBy: m.pairBy,
      modality: m.modality,
      ...(names.size ? { valueNames: names } : {}),
    };
    this.rescan();
  }

  private scan(req: Extract<BatchRequest, { kind: 'scan' }>): void {
    this.call(req).then(
      (r) => {
        this.scanned(r);
      },
      (e: unknown) => {
        this.failed(e);
      },
    );
  }

  private scanned(r: ScanResult): void {
    const s = this.s;
    this.plan = r.plan;
    // A failed run ('error') is not resumed: its failed units are stored, so a resume would skip them.
    const unfinished = s.runs.find(
      (run) =>
        run.status !== 'done' && run.status !== 'error' && this.fingerprintOf(run.id) === this.fingerprint,
    );
    s.patch({
      phase: 'ready',
      status: '',
      layout: r.plan.layout,
      dataset: r.plan.name,
      previews: r.previews,
      skipped: r.plan.skipped,
      planNotes: r.plan.notes,
      resumeOf: unfinished ?? null,
    });
  }

  private finished(r: RunResult): void {
    const status = outcomeStatus(r.outcome, r.cancelled);
    this.s.patch({
      phase: r.outcome.failed ? 'error' : 'done',
      status,
      errors: r.outcome.errors,
      outcome: r.outcome,
    });
    if (r.outcome.failed) useCompareStore.getState().toast('error', status);
    void this.afterRun();
  }

  private onEvent(e: BatchEvent): void {
    if (e.kind === 'status') this.s.patch({ status: e.text });
    else this.s.patch({ progress: e.progress, memory: e.memory ?? null });
  }

  private readonly fingerprints = new Map<string, string>();
  private fingerprintOf(runId: string): string | undefined {
    return this.fingerprints.get(runId);
  }

  async refreshRuns(): Promise<void> {
    try {
      const runs = await this.store.runs();
      for (const r of runs) this.fingerprints.set(r.id, r.fingerprint);
      this.s.patch({ runs: runs.map(listItem) });
    } catch (e) {
      useCompareStore.getState().toast('warn', toAppError(e, 'internal', 'Reading saved runs').message);
    }
  }

  private async afterRun(): Promise<void> {
    await this.refreshRuns();
    const id = this.s.runId;
    if (id) await this.loadRun(id);
  }

  async start(): Promise<void> {
    const compare = useCompareStore.getState();
    if (!this.plan) return;
    const sources = this.compare.batchModelSources(this.appBase);
    if (
      sources.length < 2 ||
      compare.models.sam.status !== 'ready' ||
      compare.models.sam2.status !== 'ready'
    ) {
      compare.toast(
        'warn',
        'Load a SAM and a SAM 2 model (Compare tab) before running a batch: the batch uses the same models.',
      );
      return;
    }
    const resumed = this.s.resumeOf ? await this.store.getRun(this.s.resumeOf.id) : undefined;
    // A resumed run keeps the settings it started with, so its units stay comparable.
    const settings = resumed ? (resumed.settings as BatchSettings) : this.settings();
    const runId =
      this.s.resumeOf?.id ??
      `run-${new Date().toISOString().replace(/[:.]/g, '-')}-${this.fingerprint.slice(0, 6)}`;
    const total = this.s.previews.reduce((a, p) => a + p.units, 0);
    this.fingerprints.set(runId, this.fingerprint);
    this.s.patch({
      phase: 'running',
      runId,
      status: 'Starting…',
      progress: {
        done: 0,
        skipped: 0,
        total,
        unitsPerMinute: 0,
        etaSec: null,
        currentCase: '',
        unitsWithFailures: 0,
        unitsFailed: 0,
        failedRows: 0,
      },
      memory: null,
      errors: [],
      outcome: null,
    });
    const run = this.call({
      kind: 'run',
      runId,
      dataset: this.plan.name,
      fingerprint: this.fingerprint,
      files: this.files,
      plan: this.plan,
      settings: {
        protocol: settings.protocol,
        sampling: settings.sampling,
        ...(settings.window ? { window: settings.window } : {}),
        nsdTolerance: settings.nsdTolerance,
      },
      models: sources,
      provider: compare.models.sam.provider ?? 'wasm',
      threads: compare.models.sam.threads ?? 1,
      totalUnits: resumed ? resumed.totalUnits : total,
    });
    run.then(
      (r) => {
        this.finished(r);
      },
      (e: unknown) => {
        this.failed(e);
      },
    );
  }

  private control(kind: 'pause' | 'resume' | 'cancel'): void {
    this.call({ kind }).catch((e: unknown) => {
      this.failed(e);
    });
  }

  pause(): void {
    this.control('pause');
    this.s.patch({ phase: 'paused', status: 'Paused (after the current unit)' });
  }

  resume(): void {
    this.control('resume');
    this.s.patch({ phase: 'running', status: 'Running' });
  }

  cancel(): void {
    this.control('cancel');
    this.s.patch({ status: 'Cancelling after the current unit…' });
  }

  async loadRun(id: string): Promise<void> {
    // Rows saved before the status column read as computed ('ok') rows.
    const rows = (await this.store.rows(id)).map(withStatus);
    // The last run's failures and counts belong to that run only.
    if (id !== this.s.runId) this.s.patch({ errors: [], outcome: null });
    this.s.patch({ runId: id, rows });
  }

  async deleteRun(id: string): Promise<void> {
    await this.store.deleteRun(id);
    if (this.s.runId === id) this.s.patch({ runId: null, rows: [] });
    await this.refreshRuns();
  }

  private base(): string {
    return (this.s.dataset ?? 'batch').replace(/[^a-zA-Z0-9._-]+/g, '_');
  }

  exportResults(what: 'results' | 'summary' | 'paired' | 'provenance'): void {
    const rows = this.s.rows;
    if (what === 'results')
      saveBytes(
        `${this.base()}_results.csv`,
        new TextEncoder().encode(toCsv(rows, RESULT_COLUMNS)),
        'text/csv',
      );
    else if (what === 'summary')
      saveBytes(
        `${this.base()}_summary.csv`,
        new TextEncoder().encode(toCsv(summarize(rows, RULES), SUMMARY_COLUMNS)),
        'text/csv',
      );
    else if (what === 'paired') {
      const p = RULES.flatMap((r) => pairedSummary(rows, r, 'dice', String(this.s.seed)));
      saveBytes(`${this.base()}_paired.csv`, new TextEncoder().encode(toCsv(p, PAIRED_COLUMNS)), 'text/csv');
    } else void this.exportProvenance();
  }

  private async exportProvenance(): Promise<void> {
    const id = this.s.runId;
    const meta: RunMeta | undefined = id ? await this.store.getRun(id) : undefined;
    const prov = {
      app: appRecord(),
      date: new Date().toISOString(),
      run: meta
        ? { id: meta.id, createdAt: meta.createdAt, status: meta.status, units: meta.doneUnits }
        : null,
      dataset: {
        name: this.s.dataset,
        layout: this.s.layout,
        fileListHash: meta?.fingerprint ?? this.fingerprint,
        files: this.files.map((f) => f.path),
      },
      settings: meta?.settings ?? this.settings(),
      selectionRules: RULES,
      results: {
        rows: this.s.rows.length,
        failedRows: this.s.rows.filter(isErrorRow).length,
        lastRun: this.s.outcome
          ? {
              units: this.s.outcome.done,
              skipped: this.s.outcome.skipped,
              unitsWithFailures: this.s.outcome.unitsWithFailures,
              unitsFailed: this.s.outcome.unitsFailed,
              casesUnreadable: this.s.outcome.casesFailed,
              failed: this.s.outcome.failed,
            }
          : null,
      },
      metrics: {
        nsdToleranceMm: 2,
        hd95: 'max of directed 95th percentiles',
        boundary: '4-neighbour pixel boundary',
      },
    };
    saveBytes(
      `${this.base()}_provenance.json`,
      new TextEncoder().encode(JSON.stringify(prov, null, 2)),
      'application/json',
    );
  }

  exportFigure(name: string, format: 'png' | 'svg', dataUrl: string): void {
    const comma = dataUrl.indexOf(',');
    const meta = dataUrl.slice(0, comma);
    const payload = dataUrl.slice(comma + 1);
    const bytes = meta.includes('base64')
      ? Uint8Array.from(atob(payload), (c) => c.charCodeAt(0))
      : new TextEncoder().encode(decodeURIComponent(payload));
    saveBytes(`${this.base()}_${name}.${format}`, bytes, format === 'png' ? 'image/png' : 'image/svg+xml');
  }

  async openUnit(unit: {
    case: string;
    slice: number;
    label_value: number;
    points: string;
    box: string;
  }): Promise<void> {
    const plan = this.plan;
    const c = plan?.cases.find((x) => x.id === unit.case);
    if (!plan || !c) {
      useCompareStore
        .getState()
        .toast('warn', 'Drop the dataset folder again to open its cases in the viewer.');
      return;
    }
    const files = new Map(datasetFiles(this.files).map((f) => [f.path, f]));
    const study = await loadCase(c, files, plan.name, (f) =>
      readImageFiles(f, { decoder: cornerstoneFrameDecoder }),
    );
    const pts = (JSON.parse(unit.points) as [number, number, 0 | 1][]).map(([x, y, l]) =>
      promptPoint(x, y, l),
    );
    const b = unit.box ? (JSON.parse(unit.box) as [number, number, number, number]) : null;
    const box: PromptBox | null = b ? { x0: b[0], y0: b[1], x1: b[2], y1: b[3] } : null;
    await this.compare.showUnit(study, unit.slice, unit.label_value, pts, box);
  }
}

function listItem(r: RunMeta): RunListItem {
  return {
    id: r.id,
    dataset: r.dataset,
    createdAt: r.createdAt,
    status: r.status,
    doneUnits: r.doneUnits,
    totalUnits: r.totalUnits,
  };
}

export type { ResultRow };
