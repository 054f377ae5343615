import { beforeAll, describe, expect, it } from 'vitest';
import { fixturePair } from '../../tools/fixtures/sam-fixtures';
import { AppError } from '../core/errors';
import { IDENTITY3, type Volume } from '../core/image/types';
import { assembleStudy, type Study } from '../core/io/study';
import { DEFAULT_PROTOCOL } from '../core/prompts/protocol';
import { twoShapeScene } from '../core/testing/synthetic';
import { LocalInference } from '../runtime/local-inference';
import type { ResultRow } from './results';
import {
  enumerateUnits,
  outcomeStatus,
  runBatch,
  type BatchInference,
  type BatchModel,
  type CaseSource,
  type ResultSink,
} from './runner';
import { pairedSummary, summarize } from './summary';

/** A 2-slice synthetic study: the scene on slice 0, the same scene shifted on slice 1, with a label map. */
function study(id: string): Study {
  const w = 240;
  const h = 160;
  const a = twoShapeScene(w, h, `${id}-a`);
  const b = twoShapeScene(w, h, `${id}-b`);
  const data = new Uint8Array(w * h * 2);
  data.set(a.grey, 0);
  data.set(b.grey, w * h);
  const lab = new Uint8Array(w * h * 2);
  for (const [k, s] of [a, b].entries()) {
    s.masks.disk.data.forEach((v, i) => v && (lab[k * w * h + i] = 1));
    s.masks.rect.data.forEach((v, i) => v && (lab[k * w * h + i] = 2));
  }
  const vol = (d: Uint8Array): Volume => ({
    dims: [w, h, 2],
    spacing: [0.5, 0.5, 2],
    spacingKnown: true,
    origin: [0, 0, 0],
    direction: IDENTITY3,
    data: d,
    modality: 'OT',
  });
  return assembleStudy(
    { volume: vol(data), format: 'png', notes: [], is8bit: true },
    { volume: vol(lab), format: 'png', notes: [], is8bit: true },
    {
      name: id,
      modality: 'OT',
      gtName: 'labels',
      extraNames: new Map([
        [1, 'disk'],
        [2, 'rect'],
      ]),
    },
  );
}

class MemorySink implements ResultSink {
  readonly units = new Map<string, readonly ResultRow[]>();
  puts = 0;
  has = (u: string) => Promise.resolve(this.units.has(u));
  put = (u: string, rows: readonly ResultRow[]) => {
    this.puts++;
    this.units.set(u, rows);
    return Promise.resolve();
  };
  rows(): ResultRow[] {
    return [...this.units.values()].flat();
  }
}

const models: BatchModel[] = [
  { slot: 'sam', id: 'fx-sam', label: 'fixture sam1-meta', contract: 'sam1-meta', isFixture: true },
  { slot: 'sam2', id: 'fx-sam2', label: 'fixture sam2', contract: 'sam2-samexporter', isFixture: true },
];
const cases: CaseSource[] = ['c1', 'c2'].map((id) => ({ id, load: () => Promise.resolve(study(id)) }));
const opts = {
  dataset: 'synthetic',
  protocol: { ...DEFAULT_PROTOCOL, strategies: ['centre-random', 'pos-neg'] as const, maxPoints: 3 },
  sampling: { kind: 'all' } as const,
  nsdTolerance: 2,
  models,
};

describe('batch runner', () => {
  let inf: LocalInference;
  let encodes = 0;
  beforeAll(async () => {
    inf = new LocalInference();
    const a = fixturePair('sam1-meta');
    const b = fixturePair('sam2-samexporter');
    await inf.load('sam', a.encoder, a.decoder);
    await inf.load('sam2', b.encoder, b.decoder);
  });
  const counting = () => ({
    encode: async (slot: 'sam' | 'sam2', key: string, image: Parameters<LocalInference['encode']>[2]) => {
      encodes++;
      return inf.encode(slot, key, image);
    },
    decode: inf.decode,
    release: inf.release,
  });

  it('enumerates units per slice and structure above the minimum area', () => {
    const s = study('c1');
    expect(enumerateUnits(s, 50, { kind: 'all' }).map((u) => `${u.slice}:${u.structure.name}`)).toEqual([
      '0:disk',
      '0:rect',
      '1:disk',
      '1:rect',
    ]);
    expect(enumerateUnits(s, 50, { kind: 'largest', k: 1 })).toHaveLength(2);
    expect(enumerateUnits(s, 1e9, { kind: 'all' })).toHaveLength(0);
  });

  it('writes one row per unit × model × strategy × n × candidate, encoding each slice once per model', async () => {
    encodes = 0;
    const sink = new MemorySink();
    const r = await runBatch(cases, counting(), sink, opts);
    expect(r.errors).toEqual([]);
    expect(r.done).toBe(8); // 2 cases × 2 slices × 2 structures
    expect(encodes).toBe(2 * 2 * 2); // cases × slices × models, reused across structures
    const rows = sink.rows();
    // SAM (sam1-meta): 3 multimask + single token; SAM 2: 3. Prompt sets: n = 1…3 plus pos+neg = 4.
    expect(rows.filter((x) => x.model_slot === 'sam')).toHaveLength(8 * 4 * 4);
    expect(rows.filter((x) => x.model_slot === 'sam2')).toHaveLength(8 * 4 * 3);
    // Both models got identical prompts for every unit and strategy.
    const key = (x: ResultRow) => `${x.case}|${x.slice}|${x.label_value}|${x.strategy}|${x.n_points}`;
    const pts = new Map<string, string>();
    for (const x of rows) {
      const k = key(x);
      const prev = pts.get(k);
      if (prev) expect(x.points).toBe(prev);
      else pts.set(k, x.points);
    }
    // Every prompt set has exactly one candidate per rule.
    for (const k of pts.keys()) {
      for (const slot of ['sam', 'sam2']) {
        const set = rows.filter((x) => key(x) === k && x.model_slot === slot);
        for (const rule of ['predicted-iou', 'first', 'oracle'])
          expect(set.filter((x) => x.selected_by.split('|').includes(rule))).toHaveLength(1);
        if (slot === 'sam')
          expect(set.filter((x) => x.selected_by.split('|').includes('single'))).toHaveLength(1);
      }
    }
    // The fixtures segment the centre-click structure well.
    const best = rows.filter(
      (x) => x.strategy === 'centre-random' && x.n_points === 1 && x.selected_by.includes('oracle'),
    );
    expect(Math.min(...best.map((x) => x.dice ?? NaN))).toBeGreaterThan(0.8);
  });

  it('resumes without recounting and cancels keeping finished units', async () => {
    const sink = new MemorySink();
    const ac = new AbortController();
    let units = 0;
    await runBatch(
      cases,
      counting(),
      {
        has: sink.has,
        put: async (u, rows) => {
          await sink.put(u, rows);
          if (++units === 3) ac.abort();
        },
      },
      opts,
      { signal: ac.signal },
    );
    expect(sink.units.size).toBe(3);
    const before = new Map(sink.units);
    const r = await runBatch(cases, counting(), sink, opts);
    expect(r.skipped).toBe(3);
    expect(r.done).toBe(5);
    expect(sink.units.size).toBe(8);
    for (const [k, v] of before) expect(sink.units.get(k)).toBe(v);
  });

  it('re-encodes for every prompt set when embedding reuse is off, with the same results', async () => {
    encodes = 0;
    const off = new MemorySink();
    await runBatch(cases.slice(0, 1), counting(), off, { ...opts, noEmbeddingReuse: true });
    expect(encodes).toBe(2 * 2 * 2 * 4); // slices × structures × models × prompt sets (n = 1…3 and pos+neg)
    const on = new MemorySink();
    await runBatch(cases.slice(0, 1), counting(), on, opts);
    const key = (r: ResultRow) =>
      `${r.slice}|${r.label_value}|${r.model_slot}|${r.strategy}|${r.n_points}|${r.candidate}`;
    const dice = new Map(on.rows().map((r) => [key(r), r.dice]));
    for (const r of off.rows()) expect(r.dice).toBe(dice.get(key(r)));
  });

  it('holds at most one slice of embeddings per model, and re-encodes what a tiny budget evicts', async () => {
    const a = fixturePair('sam1-meta');
    const b = fixturePair('sam2-samexporter');
    const roomy = new LocalInference();
    // A budget below one embedding: every insert evicts the other model's entry for the same slice.
    const tiny = new LocalInference(1);
    for (const i of [roomy, tiny]) {
      await i.load('sam', a.encoder, a.decoder);
      await i.load('sam2', b.encoder, b.decoder);
    }
    const big = new MemorySink();
    await runBatch(cases, roomy, big, opts);
    // Released after each slice: never more than the two models' embeddings of one slice.
    expect(roomy.memory().peakEntries).toBe(2);
    expect(roomy.memory().peakBytes).toBeLessThanOrEqual(roomy.memory().budgetBytes);
    expect(roomy.embeddingCount).toBe(0);
    const small = new MemorySink();
    await runBatch(cases, tiny, small, opts);
    expect(tiny.memory().evictions).toBeGreaterThan(0);
    expect(tiny.memory().peakEntries).toBe(1);
    const key = (r: ResultRow) =>
      `${r.case}|${r.slice}|${r.label_value}|${r.model_slot}|${r.strategy}|${r.n_points}|${r.candidate}`;
    const dice = new Map(big.rows().map((r) => [key(r), r.dice]));
    expect(small.rows()).toHaveLength(big.rows().length);
    for (const r of small.rows()) expect(r.dice).toBe(dice.get(key(r)));
    await roomy.close();
    await tiny.close();
  });

  it('runs the iterative error-region strategy', async () => {
    const sink = new MemorySink();
    await runBatch(cases.slice(0, 1), counting(), sink, {
      ...opts,
      protocol: { ...opts.protocol, strategies: ['error-region'], maxPoints: 3 },
    });
    const rows = sink.rows().filter((x) => x.model_slot === 'sam2');
    const ns = [...new Set(rows.map((x) => x.n_points))];
    expect(ns[0]).toBe(1);
    for (const x of rows) expect(JSON.parse(x.points)).toHaveLength(x.n_points);
  });

  describe('failure isolation', () => {
    const threeStrategies = {
      ...opts,
      protocol: { ...opts.protocol, strategies: ['centre-random', 'pos-neg', 'box'] as const },
    };
    /** The fixtures through a wrapper that can fail chosen calls. */
    const faulty = (f: {
      encode?: (slot: 'sam' | 'sam2') => boolean;
      decode?: (slot: 'sam' | 'sam2', prompts: Parameters<BatchInference['decode']>[2]) => boolean;
    }): BatchInference & { decodeCalls: number } => {
      const w = {
        decodeCalls: 0,
        encode: (slot: 'sam' | 'sam2', key: string, image: Parameters<LocalInference['encode']>[2]) =>
          f.encode?.(slot)
            ? Promise.reject(new Error(`${slot} encoder exploded`))
            : inf.encode(slot, key, image),
        decode: (slot: 'sam' | 'sam2', key: string, prompts: Parameters<BatchInference['decode']>[2]) => {
          w.decodeCalls++;
          return f.decode?.(slot, prompts)
            ? Promise.reject(
                new AppError('invalid-argument', `${slot} decoder refused ${prompts.length} prompt sets`),
              )
            : inf.decode(slot, key, prompts);
        },
        release: inf.release,
      };
      return w;
    };
    const rowKey = (r: ResultRow) =>
      `${r.case}|${r.slice}|${r.label_value}|${r.model_slot}|${r.strategy}|${r.n_points}|${r.candidate}`;
    let clean: ResultRow[] = [];
    beforeAll(async () => {
      const sink = new MemorySink();
      const r = await runBatch(cases, inf, sink, threeStrategies);
      expect(r.unitsWithFailures).toBe(0);
      clean = sink.rows();
      expect(clean.every((x) => x.status === 'ok' && x.error === '')).toBe(true);
    });

    it("keeps everything else when SAM's decode refuses the box: SAM's other strategies and all of SAM 2", async () => {
      const sink = new MemorySink();
      const r = await runBatch(
        cases,
        faulty({ decode: (slot, prompts) => slot === 'sam' && prompts.some((p) => p.box) }),
        sink,
        threeStrategies,
      );
      expect(sink.units.size).toBe(8);
      const rows = sink.rows();
      const failed = rows.filter((x) => x.status === 'error');
      // One error row per unit for SAM's one box prompt set, with the prompt and the message.
      expect(failed).toHaveLength(8);
      for (const x of failed) {
        expect(x).toMatchObject({
          model_slot: 'sam',
          strategy: 'box',
          n_points: 0,
          points: '[]',
          candidate: '',
          selected_by: '',
          predicted_iou: null,
          dice: null,
          iou: null,
          nsd: null,
          hd95: null,
          pred_area: null,
          decode_ms: null,
        });
        expect(x.box).toMatch(/^\[\d+,\d+,\d+,\d+\]$/);
        expect(x.error).toBe('decode failed: sam decoder refused 1 prompt sets');
        expect(x.gt_area).toBeGreaterThan(0);
      }
      // Every other row is there, as in a run without the failure.
      const ok = rows.filter((x) => x.status === 'ok');
      const expected = clean.filter((x) => !(x.model_slot === 'sam' && x.strategy === 'box'));
      expect(ok.map(rowKey).sort()).toEqual(expected.map(rowKey).sort());
      const dice = new Map(clean.map((x) => [rowKey(x), x.dice]));
      for (const x of ok) expect(x.dice).toBe(dice.get(rowKey(x)));
      expect(rows.filter((x) => x.model_slot === 'sam2' && x.strategy === 'box')).toHaveLength(8 * 3);
      expect(r).toMatchObject({
        done: 8,
        unitsWithFailures: 8,
        unitsFailed: 0,
        failedRows: 8,
        failed: false,
      });
      expect(outcomeStatus(r, false)).toBe(
        'Finished: 8 units (0 already done), 8 with failures (8 failed rows).',
      );
    });

    it('retries a decoder that cannot batch prompt sets one strategy, then one set, at a time: every row computed', async () => {
      const sink = new MemorySink();
      const w = faulty({ decode: (slot, prompts) => slot === 'sam2' && prompts.length > 1 });
      const r = await runBatch(cases, w, sink, threeStrategies);
      expect(r).toMatchObject({ done: 8, unitsWithFailures: 0, failedRows: 0, failed: false });
      const rows = sink.rows();
      expect(rows.every((x) => x.status === 'ok')).toBe(true);
      expect(rows.map(rowKey).sort()).toEqual(clean.map(rowKey).sort());
      const dice = new Map(clean.map((x) => [rowKey(x), x.dice]));
      for (const x of rows) expect(x.dice).toBe(dice.get(rowKey(x)));
      // Per unit: SAM one call; SAM 2 all at once (fails), centre-random n=1…3 (fails) and then each of
      // its 3 sets, pos-neg, box.
      expect(w.decodeCalls).toBe(8 * (1 + 1 + 1 + 3 + 1 + 1));
    });

    it("keeps SAM 2's rows when SAM's encoder fails, and records SAM's prompt sets as failed", async () => {
      const sink = new MemorySink();
      const r = await runBatch(cases, faulty({ encode: (slot) => slot === 'sam' }), sink, threeStrategies);
      const rows = sink.rows();
      const sam2 = rows.filter((x) => x.model_slot === 'sam2');
      expect(sam2.map(rowKey).sort()).toEqual(
        clean
          .filter((x) => x.model_slot === 'sam2')
          .map(rowKey)
          .sort(),
      );
      expect(sam2.every((x) => x.status === 'ok')).toBe(true);
      const sam = rows.filter((x) => x.model_slot === 'sam');
      // One error row per planned prompt set: n = 1…3, pos+neg, box.
      expect(sam).toHaveLength(8 * 5);
      for (const x of sam) {
        expect(x.status).toBe('error');
        expect(x.error).toBe('encode failed: Error: sam encoder exploded');
        expect(x.encode_ms).toBeNull();
      }
      expect(r).toMatchObject({
        done: 8,
        unitsWithFailures: 8,
        unitsFailed: 0,
        failedRows: 40,
        failed: false,
      });
    });

    it('ends as failed when every unit failed, or when no case loaded', async () => {
      const sink = new MemorySink();
      const r = await runBatch(cases, faulty({ encode: () => true }), sink, threeStrategies);
      // The units are still written, with their error rows, so what failed is in the results.
      expect(sink.units.size).toBe(8);
      expect(sink.rows()).toHaveLength(8 * 2 * 5);
      expect(sink.rows().every((x) => x.status === 'error')).toBe(true);
      expect(r).toMatchObject({
        done: 8,
        unitsWithFailures: 8,
        unitsFailed: 8,
        failedRows: 80,
        failed: true,
      });
      expect(r.firstError).toBe('encode failed: Error: sam encoder exploded');
      expect(outcomeStatus(r, false)).toMatch(/^Failed: every unit failed \(8 units, 80 failed rows\)\./);
      // Statistics have nothing to work on, and say how much failed.
      const s = summarize(sink.rows(), ['predicted-iou'], ['dice']);
      expect(s).toHaveLength(2 * 2 * 5); // structures × models × prompt sets
      expect(s.every((x) => x.n === 0 && x.n_failed === 4)).toBe(true); // 2 cases × 2 slices each
      expect(pairedSummary(sink.rows(), 'predicted-iou', 'dice', 'x').every((p) => p.n === 0)).toBe(true);

      const unreadable: CaseSource[] = ['bad1', 'bad2'].map((id) => ({
        id,
        load: () => Promise.reject(new Error('not an image')),
      }));
      const none = await runBatch(unreadable, inf, new MemorySink(), opts);
      expect(none).toMatchObject({ done: 0, casesFailed: 2, failed: true });
      expect(outcomeStatus(none, false)).toMatch(/^Failed: no unit ran \(2 cases could not be loaded\)\./);
      // A resumed run that only skipped finished units has not failed.
      const again = await runBatch(cases, inf, sink, threeStrategies);
      expect(again).toMatchObject({ done: 0, skipped: 8, failed: false });
    });

    it('stops the error-region sequence of the failing model only', async () => {
      const sink = new MemorySink();
      let calls = 0;
      const r = await runBatch(
        cases.slice(0, 1),
        faulty({ decode: (slot) => slot === 'sam' && ++calls % 2 === 0 }),
        sink,
        { ...opts, protocol: { ...opts.protocol, strategies: ['error-region'], maxPoints: 3 } },
      );
      const rows = sink.rows();
      const sam = rows.filter((x) => x.model_slot === 'sam');
      // SAM: click 1 computed, click 2 failed, nothing after it.
      for (const u of new Set(sam.map((x) => `${x.slice}|${x.label_value}`))) {
        const mine = sam.filter((x) => `${x.slice}|${x.label_value}` === u);
        expect(mine.filter((x) => x.status === 'error').map((x) => x.n_points)).toEqual([2]);
        expect(Math.max(...mine.map((x) => x.n_points))).toBe(2);
      }
      expect(rows.filter((x) => x.model_slot === 'sam2').every((x) => x.status === 'ok')).toBe(true);
      expect(r.failedRows).toBe(4);
    });

    it('ends the run on cancellation instead of recording it as a failed row', async () => {
      const w = faulty({});
      const cancelling: BatchInference = {
        ...w,
        decode: () => Promise.reject(new AppError('cancelled', 'stopped')),
      };
      await expect(runBatch(cases, cancelling, new MemorySink(), opts)).rejects.toMatchObject({
        code: 'cancelled',
      });
    });
  });
});
