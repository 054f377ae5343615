/**
 * The batch worker's logic (no Worker globals, so it is testable): scans a dropped dataset into a plan
 * with a per-case preview, loads both models into this worker's own ONNX Runtime, and runs the protocol
 * with results written to IndexedDB unit by unit.
 */
import { toAppError } from '../core/errors';
import { presetById } from '../core/models/registry';
import { BatchStore, type RunMeta } from '../batch/idb-store';
import { detectLayout, planFromMapping } from '../batch/layouts';
import type { DatasetFile, DatasetPlan, ManualMapping } from '../batch/layouts/types';
import { loadCase, type ReadImage } from '../batch/case-loader';
import { enumerateUnits, runBatch, type BatchModel, type CaseSource } from '../batch/runner';
import { LocalInference } from '../runtime/local-inference';
import { CacheStorageModelCache, MemoryModelCache } from '../runtime/model-fetch';
import { loadLocalFiles, loadPreset } from '../runtime/model-loader';
import type {
  BatchEvent,
  BatchRequest,
  BatchResults,
  CasePreview,
  DatasetInput,
  RunResult,
  ScanResult,
} from './batch-protocol';

export function datasetFiles(inputs: readonly DatasetInput[]): DatasetFile[] {
  return inputs.map((i) => ({
    path: i.path,
    size: i.file.size,
    read: async () => new Uint8Array(await i.file.arrayBuffer()),
  }));
}

export class BatchHost {
  private paused: (() => void) | null = null;
  private pausePromise: Promise<void> | null = null;
  private abort: AbortController | null = null;

  constructor(
    private readonly post: (e: BatchEvent) => void,
    private readonly readImage: ReadImage,
    private readonly store: BatchStore,
    private readonly setupRuntime: (threads: number, wasmPaths?: { mjs: string; wasm: string }) => void,
  ) {}

  /** Answers one request (the worker entry sends the answer, or the error, back with its id). */
  async handle<K extends BatchRequest['kind']>(
    req: Extract<BatchRequest, { kind: K }>,
  ): Promise<BatchResults[K]> {
    const r: BatchRequest = req;
    // Each branch answers with the result type of its own request kind (batch-protocol.ts BatchResults).
    if (r.kind === 'scan')
      return (await this.scan(
        r.files,
        r.rootName,
        r.settings.protocol.minArea,
        r.settings,
        r.mapping,
      )) as BatchResults[K];
    if (r.kind === 'run') return (await this.run(r)) as BatchResults[K];
    if (r.kind === 'pause') {
      this.pausePromise ??= new Promise((ok) => {
        this.paused = ok;
      });
    } else if (r.kind === 'resume') {
      this.paused?.();
      this.paused = null;
      this.pausePromise = null;
    } else {
      this.abort?.abort();
      this.paused?.();
    }
    return null as BatchResults[K];
  }

  private async scan(
    inputs: readonly DatasetInput[],
    rootName: string,
    minArea: number,
    settings: Extract<BatchRequest, { kind: 'scan' }>['settings'],
    mapping?: ManualMapping,
  ): Promise<ScanResult> {
    const files = datasetFiles(inputs);
    const plan = mapping ? planFromMapping(files, mapping) : await detectLayout(files, rootName);
    const byPath = new Map(files.map((f) => [f.path, f]));
    const previews: CasePreview[] = [];
    for (const c of plan.cases) {
      this.post({ kind: 'status', text: `Scanning ${c.id} (${previews.length + 1}/${plan.cases.length})` });
      try {
        const study = await loadCase(c, byPath, plan.name, this.readImage);
        const units = enumerateUnits(study, minArea, settings.sampling);
        previews.push({
          id: c.id,
          modality: study.modality,
          slices: study.image.dims[2],
          structures: study.structures.map((s) => ({
            name: s.name,
            value: s.value,
            units: units.filter((u) => u.structure.value === s.value).length,
          })),
          units: units.length,
        });
      } catch (e) {
        previews.push({
          id: c.id,
          modality: c.modality ?? '?',
          slices: 0,
          structures: [],
          units: 0,
          error: toAppError(e, 'corrupt-file', c.id).message,
        });
      }
    }
    return { plan, previews };
  }

  private async run(req: Extract<BatchRequest, { kind: 'run' }>): Promise<RunResult> {
    this.setupRuntime(req.threads, req.wasmPaths);
    const files = datasetFiles(req.files);
    const byPath = new Map(files.map((f) => [f.path, f]));
    const inf = new LocalInference();
    const models: BatchModel[] = [];
    const provenance: unknown[] = [];
    const cache = typeof caches === 'undefined' ? new MemoryModelCache() : new CacheStorageModelCache();
    for (const m of req.models) {
      this.post({ kind: 'status', text: `Loading the ${m.slot === 'sam' ? 'SAM' : 'SAM 2'} model…` });
      const loaded =
        m.kind === 'preset'
          ? await loadPreset(presetOrThrow(m.presetId), { host: m.host, appBase: m.appBase, cache })
          : await loadLocalFiles(
              await Promise.all(
                m.files.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })),
              ),
            );
      const p = await inf.load(m.slot, loaded.encoder, loaded.decoder, { provider: req.provider });
      models.push({
        slot: m.slot,
        id: loaded.provenance.id,
        label: loaded.provenance.label,
        contract: p.contract,
        isFixture: loaded.provenance.isFixture,
      });
      provenance.push({
        slot: m.slot,
        ...loaded.provenance,
        provider: req.provider,
        threads: req.threads,
        createMs: p.createMs,
      });
    }
    const existing = await this.store.getRun(req.runId);
    let meta: RunMeta = existing ?? {
      id: req.runId,
      dataset: req.dataset,
      fingerprint: req.fingerprint,
      createdAt: new Date().toISOString(),
      status: 'running',
      totalUnits: req.totalUnits,
      doneUnits: 0,
      settings: {
        ...req.settings,
        models: provenance,
        provider: req.provider,
        threads: req.threads,
        layout: req.plan.layout,
        cases: req.plan.cases.length,
      },
    };
    meta = { ...meta, status: 'running', doneUnits: await this.store.unitCount(req.runId) };
    await this.store.putRun(meta);
    this.abort = new AbortController();
    const cases: CaseSource[] = req.plan.cases.map((c) => ({
      id: c.id,
      load: () => loadCase(c, byPath, req.dataset, this.readImage),
    }));
    this.post({ kind: 'status', text: 'Running' });
    const r = await runBatch(
      cases,
      inf,
      {
        has: (u) => this.store.hasUnit(req.runId, u),
        put: async (u, rows) => {
          meta = { ...meta, doneUnits: meta.doneUnits + 1 };
          await this.store.putUnit(req.runId, u, rows, meta);
        },
      },
      {
        dataset: req.dataset,
        protocol: req.settings.protocol,
        sampling: req.settings.sampling,
        ...(req.settings.window ? { window: req.settings.window } : {}),
        nsdTolerance: req.settings.nsdTolerance,
        models,
      },
      {
        signal: this.abort.signal,
        gate: () => this.pausePromise ?? Promise.resolve(),
        onProgress: (progress) => this.post({ kind: 'progress', progress, memory: inf.memory() }),
      },
      req.totalUnits,
    );
    const cancelled = this.abort.signal.aborted;
    // A run in which nothing succeeded is 'error', not 'done' (and is not offered for resuming: its
    // failed units are stored, so a resume would skip them all).
    await this.store.putRun({ ...meta, status: r.failed ? 'error' : cancelled ? 'cancelled' : 'done' });
    await inf.close();
    return { outcome: r, cancelled };
  }
}

function presetOrThrow(id: string) {
  const p = presetById(id);
  if (!p) throw new Error(`unknown preset ${id}`);
  return p;
}

export type { DatasetPlan };
