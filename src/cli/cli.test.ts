/** The command line: argument parsing, sharding, merge, and errors with a non-zero exit. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
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
});
