/**
 * `npm run evaluate`: the batch protocol from the command line, on the same core as the browser
 * (onnxruntime-web's wasm backend in Node). Writes results.csv, summary.csv, paired.csv and
 * provenance.json with the same schema as the browser's exports; resumable (units.jsonl) and shardable.
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, join, relative, resolve, sep } from 'node:path';
import { cpus } from 'node:os';
import { AppError, toAppError } from '../core/errors';
import { stringHash } from '../core/hash';
import { windowByName } from '../core/image/intensity';
import { readImageFiles } from '../core/io/read-any';
import type { SelectionRule } from '../core/models/selection';
import { presetById } from '../core/models/registry';
import { loadCase } from '../batch/case-loader';
import { detectLayout } from '../batch/layouts';
import type { DatasetFile } from '../batch/layouts/types';
import {
  isErrorRow,
  parseCsv,
  RESULT_COLUMNS,
  resultRowFromCsv,
  toCsv,
  unitKey,
  withStatus,
  type ResultRow,
} from '../batch/results';
import {
  runBatch,
  type BatchInference,
  type BatchModel,
  type BatchOutcome,
  type CaseSource,
} from '../batch/runner';
import { PAIRED_COLUMNS, pairedSummary, summarize, SUMMARY_COLUMNS } from '../batch/summary';
import { LocalInference } from '../runtime/local-inference';
import { type CachedMeta, type ModelCache } from '../runtime/model-fetch';
import { loadLocalFiles, loadPreset, type LoadedModel } from '../runtime/model-loader';
import { configure } from '../runtime/ort-env';
import { cornerstoneFrameDecoder } from '../codecs/dicom-codecs';
import { appRecord } from '../core/provenance';
import { parseArgs, USAGE, type EvaluateArgs, type MergeArgs } from './args';

const RULES: SelectionRule[] = ['predicted-iou', 'first', 'oracle', 'single'];

/** Test seams: what the command line runs on, swapped in by the tests (failure injection). */
export interface EvaluateHooks {
  /** Wraps the inference engine the batch runs on. */
  readonly wrapInference?: (inference: BatchInference) => BatchInference;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...walk(p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

/** Model files cached on disk (~/.cache/sam-compare/models), so a second run works offline. */
class DiskModelCache implements ModelCache {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }
  private path(url: string) {
    return join(this.dir, createHash('sha256').update(url).digest('hex'));
  }
  get(url: string) {
    const p = this.path(url);
    if (!existsSync(`${p}.json`)) return Promise.resolve(null);
    const meta = JSON.parse(readFileSync(`${p}.json`, 'utf8')) as CachedMeta;
    return Promise.resolve({ bytes: new Uint8Array(readFileSync(p)), meta });
  }
  put(meta: CachedMeta, bytes: Uint8Array) {
    const p = this.path(meta.url);
    writeFileSync(p, bytes);
    writeFileSync(`${p}.json`, JSON.stringify(meta));
    return Promise.resolve();
  }
  delete(url: string) {
    const p = this.path(url);
    for (const f of [p, `${p}.json`]) rmSync(f, { force: true });
    return Promise.resolve();
  }
  list() {
    return Promise.resolve([] as CachedMeta[]);
  }
}

async function loadModel(spec: string, host: string): Promise<LoadedModel> {
  if (spec.includes(',') || spec.endsWith('.onnx')) {
    const files = spec
      .split(',')
      .map((p) => ({ name: basename(p), bytes: new Uint8Array(readFileSync(resolve(p))) }));
    return loadLocalFiles(files);
  }
  const fixture = /^fixture-(sam1-meta|sam2-samexporter|hf-sam2?|hf-sam)$/.exec(spec);
  const preset = presetById(spec);
  if (!preset) throw new AppError('invalid-argument', `Unknown model '${spec}'. ${USAGE}`);
  if (fixture) {
    // Fixtures ship with the app build (public/fixtures): read them from disk.
    const dir = resolve('public/fixtures');
    if (!existsSync(join(dir, preset.contract, 'encoder.onnx')))
      throw new AppError(
        'model-missing',
        `Fixture models are not in ${dir}. Run 'npm run fixtures' first (they are generated, not committed).`,
      );
    return loadLocalFiles(
      ['encoder.onnx', 'decoder.onnx'].map((f) => ({
        name: f,
        bytes: new Uint8Array(readFileSync(join(dir, preset.contract, f))),
      })),
    );
  }
  const cacheDir = join(
    process.env['XDG_CACHE_HOME'] ?? join(process.env['HOME'] ?? '.', '.cache'),
    'sam-compare',
    'models',
  );
  let last = -1;
  return loadPreset(preset, {
    host,
    appBase: 'file:///',
    cache: new DiskModelCache(cacheDir),
    onProgress: (p) => {
      const pct = p.total ? Math.floor((100 * p.received) / p.total) : -1;
      if (pct !== last && pct % 10 === 0) process.stderr.write(`  ${p.file}: ${pct}%\n`);
      last = pct;
    },
  });
}

function writeOutputs(
  out: string,
  written: readonly ResultRow[],
  seed: number,
  provenance: Record<string, unknown>,
): void {
  mkdirSync(out, { recursive: true });
  const csv = toCsv(written, RESULT_COLUMNS);
  writeFileSync(join(out, 'results.csv'), csv);
  // Summaries come from results.csv as written (10 significant digits), so a merge of shards, which
  // starts from those files, reproduces them exactly.
  const rows = parseCsv(csv).map(resultRowFromCsv);
  writeFileSync(join(out, 'summary.csv'), toCsv(summarize(rows, RULES), SUMMARY_COLUMNS));
  const paired = RULES.flatMap((r) => pairedSummary(rows, r, 'dice', String(seed)));
  writeFileSync(join(out, 'paired.csv'), toCsv(paired, PAIRED_COLUMNS));
  writeFileSync(join(out, 'provenance.json'), JSON.stringify(provenance, null, 2) + '\n');
}

function readUnits(file: string): Map<string, ResultRow[]> {
  const out = new Map<string, ResultRow[]>();
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const u = JSON.parse(line) as { unit: string; rows: ResultRow[] };
      out.set(u.unit, u.rows.map(withStatus));
    } catch {
      // A line cut by a crash mid-write: that unit is simply run again.
    }
  }
  return out;
}

/** The run's counts, then each failure the result rows cannot hold, for stderr. */
export function outcomeLines(r: BatchOutcome): string[] {
  return [
    `units: ${r.done} run, ${r.skipped} already done; ${r.unitsWithFailures} with failures, ${r.unitsFailed} failed entirely; ${r.failedRows} failed rows; ${r.casesFailed} cases unreadable`,
    ...r.errors.map((e) => `  error: ${e.case}${e.unit ? ` ${e.unit}` : ''}: ${e.message}`),
  ];
}

async function evaluate(a: EvaluateArgs, hooks: EvaluateHooks): Promise<void> {
  configure(a.threads);
  const root = resolve(a.data);
  if (!existsSync(root) || !statSync(root).isDirectory())
    throw new AppError('invalid-argument', `--data ${a.data} is not a folder.`);
  const paths = walk(root);
  const files: DatasetFile[] = paths.map((p) => ({
    path: relative(root, p).split(sep).join('/'),
    size: statSync(p).size,
    read: () => Promise.resolve(new Uint8Array(readFileSync(p))),
  }));
  const dataset = a.name ?? basename(root);
  const plan = await detectLayout(files, dataset);
  if (plan.cases.length === 0)
    throw new AppError(
      'invalid-argument',
      `No cases recognised in ${a.data} (layout: ${plan.layout}). ${plan.notes.join(' ')}`,
    );
  const mine = plan.cases.filter((_, i) => i % a.shard.count === a.shard.index);
  process.stderr.write(
    `${dataset}: ${plan.layout} layout, ${plan.cases.length} cases${a.shard.count > 1 ? `, shard ${a.shard.index}/${a.shard.count}: ${mine.length} cases` : ''}\n`,
  );
  for (const s of plan.skipped.slice(0, 20)) process.stderr.write(`  skipped ${s.path}: ${s.reason}\n`);

  const inf = new LocalInference();
  const models: BatchModel[] = [];
  const modelProv: unknown[] = [];
  for (const [slot, spec] of [
    ['sam', a.sam],
    ['sam2', a.sam2],
  ] as const) {
    process.stderr.write(`loading ${slot}: ${spec}\n`);
    const m = await loadModel(spec, a.modelHost);
    const p = await inf.load(slot, m.encoder, m.decoder, { provider: 'wasm' });
    models.push({
      slot,
      id: m.provenance.id.startsWith('local:')
        ? spec
            .split(',')
            .map((x) => basename(x))
            .join('+')
        : m.provenance.id,
      label: m.provenance.label,
      contract: p.contract,
      isFixture: m.provenance.isFixture,
    });
    modelProv.push({
      slot,
      ...m.provenance,
      provider: 'wasm (onnxruntime-web in Node)',
      threads: a.threads,
      createMs: p.createMs,
    });
  }

  mkdirSync(a.out, { recursive: true });
  const unitsFile = join(a.out, 'units.jsonl');
  const done = readUnits(unitsFile);
  if (done.size) process.stderr.write(`resuming: ${done.size} units already done\n`);
  const byPath = new Map(files.map((f) => [f.path, f]));
  const cases: CaseSource[] = mine.map((c) => ({
    id: c.id,
    load: () => loadCase(c, byPath, dataset, (f) => readImageFiles(f, { decoder: cornerstoneFrameDecoder })),
  }));
  const t0 = Date.now();
  const r = await runBatch(
    cases,
    hooks.wrapInference ? hooks.wrapInference(inf) : inf,
    {
      has: (u) => Promise.resolve(done.has(u)),
      put: (u, rows) => {
        appendFileSync(unitsFile, JSON.stringify({ unit: u, rows }) + '\n');
        done.set(u, [...rows]);
        return Promise.resolve();
      },
    },
    {
      dataset,
      protocol: a.protocol,
      sampling: a.sampling,
      ...(windowByName(a.window) ? { window: windowByName(a.window) } : {}),
      nsdTolerance: 2,
      models,
    },
    {
      onProgress: (p) => {
        const eta =
          p.etaSec === null
            ? '—'
            : p.etaSec > 90
              ? `${Math.round(p.etaSec / 60)} min`
              : `${Math.round(p.etaSec)} s`;
        process.stderr.write(
          `\r${p.done + p.skipped}/${p.total || '?'} units · ${p.unitsPerMinute.toFixed(1)} units/min · ETA ${eta} ${p.currentCase}   `,
        );
      },
    },
  );
  process.stderr.write('\n');
  for (const line of outcomeLines(r)) process.stderr.write(`${line}\n`);
  // What failed, once per model, strategy and message (the rows themselves are in results.csv).
  const failures = new Map<string, number>();
  for (const rows of done.values())
    for (const x of rows.filter(isErrorRow)) {
      const k = `${x.model_slot} ${x.strategy}: ${x.error}`;
      failures.set(k, (failures.get(k) ?? 0) + 1);
    }
  for (const [k, n] of [...failures].slice(0, 20)) process.stderr.write(`  failed rows: ${n} × ${k}\n`);
  await inf.close();
  const rows = [...done.entries()]
    .sort(([x], [y]) => x.localeCompare(y, 'en', { numeric: true }))
    .flatMap(([, v]) => v);
  writeOutputs(a.out, rows, a.protocol.seed, {
    app: appRecord('command line (Node)'),
    date: new Date().toISOString(),
    dataset: {
      name: dataset,
      layout: plan.layout,
      folder: root,
      fileListHash: stringHash(
        files
          .map((f) => `${f.path}:${f.size}`)
          .sort()
          .join('\n'),
      ),
      cases: plan.cases.length,
    },
    shard: a.shard,
    protocol: a.protocol,
    sampling: a.sampling,
    window: a.window,
    nsdToleranceMm: 2,
    models: modelProv,
    units: {
      done: r.done,
      skipped: r.skipped,
      withFailures: r.unitsWithFailures,
      failedEntirely: r.unitsFailed,
      failedRows: r.failedRows,
      casesUnreadable: r.casesFailed,
      errors: r.errors.length,
      seconds: (Date.now() - t0) / 1000,
    },
  });
  process.stderr.write(`wrote ${rows.length} rows (${done.size} units) to ${a.out}\n`);
  // Also when resuming a run whose every stored unit failed: nothing new ran, and nothing is usable.
  const storedAllFailed =
    done.size > 0 && [...done.values()].every((u) => u.length > 0 && u.every(isErrorRow));
  if (r.failed || (r.done === 0 && storedAllFailed))
    throw new AppError(
      'internal',
      r.done === 0 && r.casesFailed > 0
        ? 'No case could be loaded; see the errors above.'
        : 'Every unit failed (no computed row); see the errors above and the error column of results.csv.',
    );
}

function merge(a: MergeArgs): void {
  const byUnit = new Map<string, ResultRow[]>();
  const provs: unknown[] = [];
  for (const d of a.dirs) {
    const f = join(d, 'results.csv');
    if (!existsSync(f)) throw new AppError('invalid-argument', `${d} has no results.csv.`);
    for (const raw of parseCsv(readFileSync(f, 'utf8'))) {
      const row = resultRowFromCsv(raw);
      const u = `${unitKey(row.dataset, row.case, row.slice, row.label_value)}|${row.model_slot}|${row.strategy}|${row.n_points}|${row.candidate}`;
      byUnit.set(u, [row]);
    }
    if (existsSync(join(d, 'provenance.json')))
      provs.push(JSON.parse(readFileSync(join(d, 'provenance.json'), 'utf8')));
  }
  // A prompt set that failed in one folder and was computed in another (a shard run again) keeps the
  // computed rows only.
  const promptSet = (r: ResultRow) =>
    `${unitKey(r.dataset, r.case, r.slice, r.label_value)}|${r.model_slot}|${r.strategy}|${r.n_points}`;
  const computed = new Set(
    [...byUnit.values()]
      .flat()
      .filter((r) => !isErrorRow(r))
      .map(promptSet),
  );
  const rows = [...byUnit.entries()]
    .sort(([x], [y]) => x.localeCompare(y, 'en', { numeric: true }))
    .flatMap(([, v]) => v)
    .filter((r) => !isErrorRow(r) || !computed.has(promptSet(r)));
  const failedRows = rows.filter(isErrorRow).length;
  writeOutputs(a.out, rows, a.seed, {
    app: appRecord(),
    date: new Date().toISOString(),
    mergedFrom: a.dirs,
    shards: provs,
    failedRows,
  });
  process.stderr.write(
    `merged ${a.dirs.length} folders: ${rows.length} rows (${failedRows} failed rows) → ${a.out}\n`,
  );
}

export async function main(argv: readonly string[], hooks: EvaluateHooks = {}): Promise<number> {
  try {
    const a = parseArgs(argv, process.env, cpus().length);
    if (a.command === 'merge') merge(a);
    else await evaluate(a, hooks);
    return 0;
  } catch (e) {
    const err = toAppError(e, 'internal');
    process.stderr.write(`\nerror: ${err.message}\n`);
    return err.code === 'invalid-argument' ? 2 : 1;
  }
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename);
if (isMain) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
