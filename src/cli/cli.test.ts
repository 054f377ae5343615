/** The command line: argument parsing, sharding, merge, and errors with a non-zero exit. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { AppError } from '../core/errors';
import { parseCsv } from '../batch/results';
import { parseArgs, shardFrom } from './args';
import { main } from './evaluate';

const base = [
  '--data',
  'test-data/sam-med2d-demo-ct2d',
  '--sam',
  'fixture-sam1-meta',
  '--sam2',
  'fixture-sam2-samexporter',
  '--max-points',
  '2',
  '--threads',
  '1',
];

describe('arguments', () => {
  it('reads shards from --shard, SLURM array variables and Kubernetes Indexed Jobs', () => {
    expect(shardFrom('1/4', {})).toEqual({ index: 1, count: 4 });
    expect(shardFrom(undefined, { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4' })).toEqual({
      index: 3,
      count: 4,
    });
    expect(
      shardFrom(undefined, {
        SLURM_ARRAY_TASK_ID: '11',
        SLURM_ARRAY_TASK_COUNT: '4',
        SLURM_ARRAY_TASK_MIN: '10',
      }),
    ).toEqual({ index: 1, count: 4 });
    expect(shardFrom(undefined, { JOB_COMPLETION_INDEX: '2', SHARD_COUNT: '3' })).toEqual({
      index: 2,
      count: 3,
    });
    expect(shardFrom(undefined, {})).toEqual({ index: 0, count: 1 });
    expect(() => shardFrom('4/4', {})).toThrow(/below N/);
    expect(() => shardFrom(undefined, { JOB_COMPLETION_INDEX: '0' })).toThrow(/SHARD_COUNT/);
  });

  it('refuses missing or malformed arguments with the usage', () => {
    expect(() => parseArgs(['--data', 'x'])).toThrow(/--out/);
    expect(() => parseArgs(['--data', 'x', '--out', 'y', '--sam', 'a'])).toThrow(/--sam2/);
    expect(() => parseArgs([...base, '--out', 'y', '--strategies', 'magic'])).toThrow(
      /Unknown strategy 'magic'/,
    );
    expect(() => parseArgs([...base, '--out', 'y', '--sampling', 'some'])).toThrow(/every:K/);
    // An unknown window used to fall back silently to the modality default.
    expect(() => parseArgs([...base, '--out', 'y', '--window', 'abdomne'])).toThrow(
      /Unknown --window 'abdomne'/,
    );
    const w = parseArgs([...base, '--out', 'y', '--window', 'percentile-volume']);
    expect(w.command === 'evaluate' && w.window).toBe('percentile-volume');
    const a = parseArgs([...base, '--out', 'y', '--sampling', 'largest:2']);
    expect(a.command === 'evaluate' && a.sampling).toEqual({ kind: 'largest', k: 2 });
  });
});

describe('evaluate and merge', () => {
  it('two shards merged give the same results and summary as one run', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'samcmp-cli-'));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main([...base, '--out', join(dir, 'all')])).toBe(0);
      expect(await main([...base, '--out', join(dir, 's0'), '--shard', '0/2'])).toBe(0);
      expect(await main([...base, '--out', join(dir, 's1'), '--shard', '1/2'])).toBe(0);
      expect(await main(['merge', join(dir, 's0'), join(dir, 's1'), '--out', join(dir, 'merged')])).toBe(0);
    } finally {
      err.mockRestore();
    }
    const read = (d: string, f: string) => readFileSync(join(dir, d, f), 'utf8');
    const strip = (rows: Record<string, string>[]) =>
      rows.map(({ encode_ms: _e, decode_ms: _d, embedding_reused: _r, ...rest }) => rest);
    const all = parseCsv(read('all', 'results.csv'));
    const s0 = parseCsv(read('s0', 'results.csv'));
    const s1 = parseCsv(read('s1', 'results.csv'));
    expect(s0.length).toBeGreaterThan(0);
    expect(s1.length).toBeGreaterThan(0);
    expect(new Set(s0.map((r) => r['case']))).not.toEqual(new Set(s1.map((r) => r['case'])));
    expect(strip(parseCsv(read('merged', 'results.csv')))).toEqual(strip(all));
    expect(read('merged', 'summary.csv')).toBe(read('all', 'summary.csv'));
    expect(read('merged', 'paired.csv')).toBe(read('all', 'paired.csv'));
    const prov = JSON.parse(read('all', 'provenance.json')) as {
      protocol: { seed: number };
      models: { files: { sha256: string }[] }[];
      dataset: { fileListHash: string };
    };
    expect(prov.protocol.seed).toBe(42);
    expect(prov.models[0]!.files[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('exits non-zero with a clear message on bad input', async () => {
    const lines: string[] = [];
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      lines.push(String(s));
      return true;
    });
    try {
      expect(
        await main([
          '--data',
          'does/not/exist',
          '--sam',
          'fixture-sam1-meta',
          '--sam2',
          'fixture-hf-sam2',
          '--out',
          join(tmpdir(), 'x'),
        ]),
      ).toBe(2);
      expect(lines.join('')).toMatch(/does\/not\/exist is not a folder/);
      lines.length = 0;
      expect(
        await main([
          '--data',
          'test-data',
          '--sam',
          'no-such-model',
          '--sam2',
          'fixture-hf-sam2',
          '--out',
          join(tmpdir(), 'x'),
        ]),
      ).not.toBe(0);
      expect(lines.join('')).toMatch(/Unknown model 'no-such-model'/);
    } finally {
      err.mockRestore();
    }
  });

  it(
    'keeps the computed rows and exits 0 when some prompt sets fail; says how many',
    { timeout: 120_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'samcmp-cli-partial-'));
      const lines: string[] = [];
      const err = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
        lines.push(String(s));
        return true;
      });
      try {
        const code = await main([...base, '--out', dir], {
          // SAM 2 refuses prompts with a negative click (the pos+neg strategy).
          wrapInference: (inf) => ({
            ...inf,
            decode: (slot, key, prompts) =>
              slot === 'sam2' && prompts.some((p) => p.points.some((q) => q.label === 0))
                ? Promise.reject(new AppError('invalid-argument', 'no negatives here'))
                : inf.decode(slot, key, prompts),
          }),
        });
        expect(code).toBe(0);
      } finally {
        err.mockRestore();
      }
      const out = lines.join('');
      const units = Number(
        /units: (\d+) run, 0 already done; (\d+) with failures, 0 failed entirely;/.exec(out)?.[1],
      );
      expect(units).toBeGreaterThan(0);
      expect(out).toContain(
        `units: ${units} run, 0 already done; ${units} with failures, 0 failed entirely; ${units} failed rows`,
      );
      const rows = parseCsv(readFileSync(join(dir, 'results.csv'), 'utf8'));
      const bad = rows.filter((r) => r['status'] === 'error');
      expect(bad).toHaveLength(units);
      for (const r of bad) {
        expect(r).toMatchObject({ model_slot: 'sam2', strategy: 'pos-neg', dice: '', candidate: '' });
        expect(r['error']).toBe('decode failed: no negatives here');
      }
      // Everything else was computed: SAM's pos+neg rows and both models' clicks.
      expect(rows.filter((r) => r['status'] === 'ok' && r['strategy'] === 'pos-neg').length).toBeGreaterThan(
        0,
      );
      expect(rows.filter((r) => r['status'] === 'ok' && r['model_slot'] === 'sam2').length).toBe(
        units * 2 * 3,
      );
      const summary = parseCsv(readFileSync(join(dir, 'summary.csv'), 'utf8'));
      const sam2PosNeg = summary.filter((r) => r['model_slot'] === 'sam2' && r['strategy'] === 'pos-neg');
      expect(sam2PosNeg.length).toBeGreaterThan(0);
      for (const r of sam2PosNeg) expect(r).toMatchObject({ n: '0' });
      expect(sam2PosNeg.reduce((a, r) => a + Number(r['n_failed']), 0)).toBe(units * 3 * 4); // rules × metrics
    },
  );

  it('exits non-zero when every unit failed, with the failures written', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'samcmp-cli-failed-'));
    const lines: string[] = [];
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      lines.push(String(s));
      return true;
    });
    let code: number;
    try {
      code = await main([...base, '--out', dir], {
        wrapInference: (inf) => ({ ...inf, encode: () => Promise.reject(new Error('no encoder today')) }),
      });
    } finally {
      err.mockRestore();
    }
    expect(code).toBe(1);
    const out = lines.join('');
    const units = Number(/units: (\d+) run/.exec(out)?.[1]);
    expect(units).toBeGreaterThan(0);
    // 2 models × (n = 1, 2 and pos+neg) error rows per unit.
    expect(out).toContain(`${units} with failures, ${units} failed entirely; ${units * 6} failed rows`);
    expect(out).toMatch(/error: Every unit failed/);
    const rows = parseCsv(readFileSync(join(dir, 'results.csv'), 'utf8'));
    expect(rows).toHaveLength(units * 6);
    for (const r of rows) {
      expect(r['status']).toBe('error');
      expect(r['error']).toBe('encode failed: Error: no encoder today');
    }
    // Running it again resumes (nothing left to run) and still says the results are unusable.
    const again = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main([...base, '--out', dir])).toBe(1);
    } finally {
      again.mockRestore();
    }
  });
});
