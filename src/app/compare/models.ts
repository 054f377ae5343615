/**
 * Models for the compare view: presets and local files, download progress and cancel, the model cache,
 * the model host, and installing a loaded model into the inference worker.
 */
import { toAppError } from '../../core/errors';
import { presetById } from '../../core/models/registry';
import { CacheStorageModelCache, MemoryModelCache, type ModelCache } from '../../runtime/model-fetch';
import {
  loadLocalFiles,
  loadPreset,
  type LoadedModel,
  type ModelProvenance,
} from '../../runtime/model-loader';
import { SLOT_LABEL, SLOTS, useCompareStore, type Slot } from '../../state/compare';
import type { CachedModelInfo } from '../../state/services';
import type { ModelSourceMsg } from '../batch-protocol';
import { fileToInput } from '../downloads';
import { report } from './feedback';
import { currentProvider, type Inference } from './inference';

/** localStorage key of the model host the user chose (kept by "clear session"). */
export const MODEL_HOST_KEY = 'sam-compare.model-host';

type Store = ReturnType<typeof useCompareStore.getState>;

export class Models {
  private readonly aborts: Record<Slot, AbortController | null> = { sam: null, sam2: null };
  private readonly provenanceOf: Record<Slot, ModelProvenance | null> = { sam: null, sam2: null };
  private readonly sources: Record<Slot, { presetId?: string; files?: readonly File[] } | null> = {
    sam: null,
    sam2: null,
  };
  private readonly cache: ModelCache;
  private host: string;

  constructor(
    private readonly inference: Inference,
    private readonly appBase: string,
    defaultModelHost: string,
  ) {
    this.cache = typeof caches === 'undefined' ? new MemoryModelCache() : new CacheStorageModelCache();
    const url = new URL(location.href);
    this.host = url.searchParams.get('modelHost') ?? localStorage.getItem(MODEL_HOST_KEY) ?? defaultModelHost;
  }

  private get s(): Store {
    return useCompareStore.getState();
  }

  /** Where the slot's model came from (its files' names, sizes and hashes), for provenance. */
  provenance(slot: Slot): ModelProvenance | null {
    return this.provenanceOf[slot];
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
        appBase: this.appBase,
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
      await this.install(slot, loaded);
    } catch (e) {
      const err = toAppError(e, 'network', `Loading ${preset.label}`);
      this.s.setModel(slot, {
        status: err.code === 'cancelled' ? 'none' : 'error',
        error: err.message,
        progress: undefined,
      });
      if (err.code !== 'cancelled') report(err);
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
      await this.install(slot, loaded);
    } catch (e) {
      const err = toAppError(e, 'model-contract', 'Loading local model files');
      this.s.setModel(slot, { status: 'error', error: err.message });
      report(err);
    }
  }

  /** Loads the slot's model again from where it came from (a fresh worker after a restart). */
  async reload(slot: Slot): Promise<void> {
    const src = this.sources[slot];
    if (src?.presetId) await this.loadPreset(slot, src.presetId);
    else if (src?.files) await this.loadLocalModel(slot, src.files);
  }

  private async install(slot: Slot, m: LoadedModel): Promise<void> {
    const inf = this.inference;
    await inf.ready();
    const provider = currentProvider();
    this.s.setModel(slot, { status: 'loading', progress: undefined });
    const transfer: Transferable[] = [m.encoder.bytes.buffer, m.decoder.bytes.buffer];
    for (const e of [...(m.encoder.externalData ?? []), ...(m.decoder.externalData ?? [])])
      transfer.push(e.data.buffer);
    const r = await inf.client.request(
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
    this.provenanceOf[slot] = m.provenance;
    inf.forgetSlot(slot);
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
    await inf.encodeCurrent();
    await inf.decodeAll();
  }

  cancelDownload(slot: Slot): void {
    this.aborts[slot]?.abort();
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

  setModelHost(url: string): void {
    this.host = url.replace(/\/+$/, '');
    localStorage.setItem(MODEL_HOST_KEY, this.host);
  }

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
}
