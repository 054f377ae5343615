/** Command-line arguments of `npm run evaluate` (pure: parsed from argv and env, validated). */
import { AppError } from '../core/errors';
import { WINDOW_CHOICES } from '../core/image/intensity';
import { DEFAULT_PROTOCOL, type ProtocolSettings, type StrategyId } from '../core/prompts/protocol';
import type { SliceSampling } from '../batch/runner';

export interface EvaluateArgs {
  readonly command: 'evaluate';
  readonly data: string;
  readonly sam: string;
  readonly sam2: string;
  readonly out: string;
  readonly protocol: ProtocolSettings;
  readonly sampling: SliceSampling;
  readonly window: string;
  readonly shard: { readonly index: number; readonly count: number };
  readonly modelHost: string;
  readonly threads: number;
  readonly name?: string;
}

export interface MergeArgs {
  readonly command: 'merge';
  readonly dirs: readonly string[];
  readonly out: string;
  readonly seed: number;
}

const STRATS: readonly StrategyId[] = ['centre-random', 'pos-neg', 'box', 'error-region'];

export const USAGE = `Usage:
  npm run evaluate -- --data <folder> --sam <preset|encoder.onnx,decoder.onnx> --sam2 <preset|…> --out <dir> [options]
  npm run evaluate -- merge <dir> <dir> … --out <dir>

Options:
  --seed N                 global seed (default 42)
  --strategies LIST        comma list of centre-random,pos-neg,box,error-region (default centre-random,pos-neg)
  --max-points N           positive clicks n = 1…N for centre-random (default 5)
  --min-area PX            minimum structure area per slice (default 50)
  --sampling S             all | every:K | largest:K (default all)
  --window W               ${WINDOW_CHOICES.map((c) => c.id).join(' | ')} (default auto)
  --shard I/N              run shard I of N (0-based); also SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT,
                           or JOB_COMPLETION_INDEX with SHARD_COUNT (Kubernetes Indexed Jobs)
  --model-host URL         hub base URL for presets (default https://huggingface.co)
  --threads N              onnxruntime wasm threads (default: CPU cores, at most 8)
  --name NAME              dataset name in the results (default: the folder name)
Presets: sam-vit-b-int8, sam-vit-b-fp16, sam-vit-b-hf-q8, slimsam-77-q8, sam2.1-tiny-q8, sam2.1-tiny-fp32,
         sam2.1-small-q8, sam2-tiny-samexporter, fixture-<contract> (test fixtures, not SAM).`;

function bad(msg: string): AppError {
  return new AppError('invalid-argument', `${msg}\n\n${USAGE}`);
}

function intArg(v: string | undefined, name: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw bad(`${name} must be an integer ≥ ${min}, got '${v ?? ''}'.`);
  return n;
}

export function shardFrom(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): { index: number; count: number } {
  if (flag) {
    const m = /^(\d+)\/(\d+)$/.exec(flag);
    if (!m) throw bad(`--shard must look like I/N (e.g. 0/4), got '${flag}'.`);
    const index = Number(m[1]);
    const count = Number(m[2]);
    if (count < 1 || index >= count) throw bad(`--shard ${flag}: I must be below N.`);
    return { index, count };
  }
  const slurmId = env['SLURM_ARRAY_TASK_ID'];
  const slurmCount = env['SLURM_ARRAY_TASK_COUNT'];
  if (slurmId !== undefined && slurmCount !== undefined) {
    const min = Number(env['SLURM_ARRAY_TASK_MIN'] ?? '0');
    const index = Number(slurmId) - min;
    const count = Number(slurmCount);
    if (!Number.isInteger(index) || !Number.isInteger(count) || index < 0 || index >= count)
      throw bad(`SLURM array task ${slurmId} of ${slurmCount} (min ${min}) is not a valid shard.`);
    return { index, count };
  }
  const k8s = env['JOB_COMPLETION_INDEX'];
  if (k8s !== undefined) {
    const count = intArg(env['SHARD_COUNT'], 'SHARD_COUNT (with JOB_COMPLETION_INDEX)', 1);
    const index = intArg(k8s, 'JOB_COMPLETION_INDEX', 0);
    if (index >= count) throw bad(`JOB_COMPLETION_INDEX ${index} is not below SHARD_COUNT ${count}.`);
    return { index, count };
  }
  return { index: 0, count: 1 };
}

export function parseArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
  cores = 2,
): EvaluateArgs | MergeArgs {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a.startsWith('--')) {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) throw bad(`${a} needs a value.`);
      flags.set(a.slice(2), v);
      i++;
    } else positional.push(a);
  }
  const out = flags.get('out');
  if (!out) throw bad('--out <dir> is required.');
  if (positional[0] === 'merge') {
    const dirs = positional.slice(1);
    if (dirs.length === 0) throw bad('merge needs at least one result folder.');
    return {
      command: 'merge',
      dirs,
      out,
      seed: flags.has('seed') ? intArg(flags.get('seed'), '--seed', 0) : DEFAULT_PROTOCOL.seed,
    };
  }
  const data = flags.get('data');
  const sam = flags.get('sam');
  const sam2 = flags.get('sam2');
  if (!data) throw bad('--data <folder> is required.');
  if (!sam || !sam2) throw bad('--sam and --sam2 are required (a preset id or encoder.onnx,decoder.onnx).');
  const strategies = (flags.get('strategies') ?? 'centre-random,pos-neg')
    .split(',')
    .map((s) => s.trim()) as StrategyId[];
  for (const s of strategies) if (!STRATS.includes(s)) throw bad(`Unknown strategy '${s}'.`);
  const samplingRaw = flags.get('sampling') ?? 'all';
  const sm = /^(every|largest):(\d+)$/.exec(samplingRaw);
  let sampling: SliceSampling;
  if (samplingRaw === 'all') sampling = { kind: 'all' };
  else if (sm) sampling = { kind: sm[1] as 'every' | 'largest', k: intArg(sm[2], '--sampling K', 1) };
  else throw bad(`--sampling must be all, every:K or largest:K, got '${samplingRaw}'.`);
  return {
    command: 'evaluate',
    data,
    sam,
    sam2,
    out,
    protocol: {
      ...DEFAULT_PROTOCOL,
      seed: flags.has('seed') ? intArg(flags.get('seed'), '--seed', 0) : DEFAULT_PROTOCOL.seed,
      strategies,
      maxPoints: flags.has('max-points')
        ? intArg(flags.get('max-points'), '--max-points', 1)
        : DEFAULT_PROTOCOL.maxPoints,
      minArea: flags.has('min-area')
        ? intArg(flags.get('min-area'), '--min-area', 1)
        : DEFAULT_PROTOCOL.minArea,
    },
    sampling,
    window: knownWindow(flags.get('window') ?? 'auto'),
    shard: shardFrom(flags.get('shard'), env),
    modelHost: flags.get('model-host') ?? 'https://huggingface.co',
    threads: flags.has('threads')
      ? intArg(flags.get('threads'), '--threads', 1)
      : Math.min(8, Math.max(1, cores)),
    ...(flags.get('name') ? { name: flags.get('name') } : {}),
  };
}

function knownWindow(id: string): string {
  if (WINDOW_CHOICES.some((c) => c.id === id)) return id;
  throw bad(`Unknown --window '${id}': use one of ${WINDOW_CHOICES.map((c) => c.id).join(', ')}.`);
}
