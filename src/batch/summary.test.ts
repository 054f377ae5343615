/** Analysis of batch rows: error rows are counted but in no statistic; only like is paired with like. */
import { describe, expect, it } from 'vitest';
import { parseCsv, RESULT_COLUMNS, resultRowFromCsv, toCsv, type ResultRow } from './results';
import {
  failureGroups,
  figure1,
  figure2,
  PAIRED_COLUMNS,
  pairedSummary,
  rowModels,
  scatter,
  SINGLE_RULE_SAM2_NOTE,
  summarize,
} from './summary';

const OK: ResultRow = {
  dataset: 'd',
  case: 'c',
  modality: 'CT',
  slice: 0,
  structure: 'liver',
  label_value: 1,
  model_slot: 'sam',
  model_id: 'sam-id',
  model_label: 'SAM',
  contract: 'sam1-meta',
  is_fixture: true,
  strategy: 'centre-random',
  n_points: 1,
  points: '[[10,12,1]]',
  box: '',
  candidate: '0',
  predicted_iou: 0.9,
  selected_by: 'predicted-iou|first|oracle',
  dice: 0.5,
  iou: 0.33,
  nsd: 0.4,
  hd95: 3.5,
  pred_area: 100,
  gt_area: 120,
  spacing_mm: '1.0000x1.0000',
  window: 'W400/L40',
  encode_ms: 12,
  embedding_reused: false,
  decode_ms: 3,
  seed: 42,
  status: 'ok',
  error: '',
};

const SAM2 = {
  model_slot: 'sam2',
  model_id: 'sam2-id',
  model_label: 'SAM 2',
  contract: 'sam2-samexporter',
} as const;

function failed(p: Partial<ResultRow>): ResultRow {
  return {
    ...OK,
    candidate: '',
    predicted_iou: null,
    selected_by: '',
    dice: null,
    iou: null,
    nsd: null,
    hd95: null,
    pred_area: null,
    decode_ms: null,
    status: 'error',
    error: 'decode failed: the decoder refused the prompt',
    ...p,
  };
}

/** Four units; SAM 2's decode failed on the last one. */
function rowsWithAFailure(): ResultRow[] {
  const rows: ResultRow[] = [];
  for (let u = 0; u < 4; u++) {
    rows.push({ ...OK, slice: u, dice: 0.5 + u / 10 });
    if (u < 3) rows.push({ ...OK, ...SAM2, slice: u, dice: 0.6 + u / 10 });
    else rows.push(failed({ ...SAM2, slice: u }));
  }
  return rows;
}

describe('error rows in the analysis', () => {
  it('are in no statistic, and summaries and the paired table count them', () => {
    const rows = rowsWithAFailure();
    const s = summarize(rows, ['predicted-iou'], ['dice']);
    const sam = s.find((x) => x.model_slot === 'sam');
    const sam2 = s.find((x) => x.model_slot === 'sam2');
    expect(sam).toMatchObject({ n: 4, n_missing: 0, n_failed: 0 });
    expect(sam?.mean).toBeCloseTo(0.65, 12);
    expect(sam2).toMatchObject({ n: 3, n_missing: 0, n_failed: 1 });
    expect(sam2?.mean).toBeCloseTo(0.7, 12);

    const [p, ...more] = pairedSummary(rows, 'predicted-iou', 'dice', 'seed');
    expect(more).toHaveLength(0);
    expect(p).toMatchObject({ n: 3, nDropped: 0, nFailed: 1, nExcluded: 0, winsB: 3 });
    expect(p?.meanDiff).toBeCloseTo(0.1, 12);
    expect(p?.note).toBe('1 unit left out: a model failed on the prompt set.');

    expect(figure1(rows, 'predicted-iou').find((b) => b.model === 'sam2')?.n).toBe(3);
    expect(figure2(rows, 'predicted-iou').find((b) => b.model === 'sam2')?.n).toBe(3);
    expect(scatter(rows, 'predicted-iou')).toHaveLength(3);
    expect(failureGroups(rows)).toEqual([
      {
        model_slot: 'sam2',
        model_label: 'SAM 2',
        strategy: 'centre-random',
        error: 'decode failed: the decoder refused the prompt',
        rows: 1,
        units: 1,
      },
    ]);
  });

  it('keep a group whose every prompt set failed in the summary and the paired table, with n 0', () => {
    const rows = [
      ...rowsWithAFailure(),
      ...[0, 1, 2, 3].map((u) =>
        failed({ strategy: 'box', n_points: 0, points: '[]', box: '[1,2,30,40]', slice: u }),
      ),
    ];
    const box = summarize(rows, ['predicted-iou', 'single'], ['dice']).filter((x) => x.strategy === 'box');
    // SAM's box failed on every unit (SAM 2 ran no box here); SAM has the single-mask token, so both rules.
    expect(box.map((x) => [x.model_slot, x.rule, x.n, x.n_failed])).toEqual([
      ['sam', 'predicted-iou', 0, 4],
      ['sam', 'single', 0, 4],
    ]);
    const p = pairedSummary(rows, 'predicted-iou', 'dice', 'seed').find((x) => x.strategy === 'box');
    expect(p).toMatchObject({ n: 0, nFailed: 4 });
    expect(p?.note).toContain('4 units left out: a model failed');
  });

  it('round-trip through results.csv: empty cells for an error row, new columns appended', () => {
    const rows = [...rowsWithAFailure(), { ...OK, slice: 9, hd95: null, pred_area: 0 }];
    const csv = toCsv(rows, RESULT_COLUMNS);
    expect(parseCsv(csv).map(resultRowFromCsv)).toEqual(rows);
    const [head = '', ...lines] = csv.trim().split('\n');
    // The columns of the first release, in order, then the status columns.
    expect(head).toBe(
      'dataset,case,modality,slice,structure,label_value,model_slot,model_id,model_label,contract,is_fixture,' +
        'strategy,n_points,points,box,candidate,predicted_iou,selected_by,dice,iou,nsd,hd95,pred_area,' +
        'gt_area,spacing_mm,window,encode_ms,embedding_reused,decode_ms,seed,status,error',
    );
    expect(lines[7]).toBe(
      'd,c,CT,3,liver,1,sam2,sam2-id,SAM 2,sam2-samexporter,true,centre-random,1,"[[10,12,1]]",,,,,,,,,,120,' +
        '1.0000x1.0000,W400/L40,12,false,,42,error,decode failed: the decoder refused the prompt',
    );
    // A file written before the status columns reads as computed rows.
    const old = toCsv([OK], RESULT_COLUMNS.slice(0, -2));
    expect(parseCsv(old).map(resultRowFromCsv)).toEqual([OK]);
  });

  it('paired.csv has the failure columns', () => {
    expect(PAIRED_COLUMNS.slice(-3)).toEqual(['nFailed', 'nExcluded', 'note']);
  });
});

describe('the single-mask rule (gap 8: SAM 2 exports have no single-mask token)', () => {
  /** Two clicks: SAM's single-mask rule picks token 0 (candidate 'single'); SAM 2 has only multimask rows. */
  function twoClicks(sam2Tag: string): ResultRow[] {
    const rows: ResultRow[] = [];
    for (let u = 0; u < 4; u++) {
      const at = { slice: u, n_points: 2, points: '[[10,12,1],[14,15,1]]' };
      rows.push({ ...OK, ...at, candidate: '1', selected_by: 'predicted-iou|first|oracle', dice: 0.5 });
      rows.push({ ...OK, ...at, candidate: 'single', selected_by: 'single', dice: 0.55 + u / 100 });
      rows.push({ ...OK, ...SAM2, ...at, candidate: '2', selected_by: sam2Tag, dice: 0.7 });
    }
    return rows;
  }

  it('shows SAM 2 as n/a and pairs nothing, saying why', () => {
    const rows = twoClicks('predicted-iou|first|oracle');
    expect(summarize(rows, ['single'], ['dice']).map((x) => x.model_slot)).toEqual(['sam']);
    const [p, ...more] = pairedSummary(rows, 'single', 'dice', 'seed');
    expect(more).toHaveLength(0);
    expect(p).toMatchObject({ n: 0, unmatchedA: 4, nExcluded: 0 });
    expect(p?.note).toMatch(/^SAM 2 has no single-mask token .*: n\/a under this rule, nothing paired\.$/);
    expect(SINGLE_RULE_SAM2_NOTE).toMatch(/^SAM 2 exports have no single-mask token/);
    // Under a rule both models have, the same rows pair as usual.
    expect(pairedSummary(rows, 'predicted-iou', 'dice', 'seed')[0]).toMatchObject({ n: 4, note: '' });
  });

  it("never pairs SAM's token-0 pick with a SAM 2 multimask pick, even when a row claims the rule", () => {
    // As if an export or a merged file had labelled SAM 2's predicted-IoU pick 'single'.
    const rows = twoClicks('predicted-iou|first|oracle|single');
    const [p] = pairedSummary(rows, 'single', 'dice', 'seed');
    expect(p).toMatchObject({ n: 0, nExcluded: 4, winsA: 0, winsB: 0 });
    expect(p?.note).toBe(
      '4 units left out: a single-mask-token pick against a multimask pick is not like with like.',
    );
    // One click: SAM's single-mask rule picks from the multimask set too, so those do pair.
    const one = rows.map((r) =>
      r.candidate === 'single'
        ? { ...r, selected_by: '' }
        : r.model_slot === 'sam'
          ? { ...r, selected_by: `${r.selected_by}|single` }
          : r,
    );
    expect(pairedSummary(one, 'single', 'dice', 'seed')[0]).toMatchObject({ n: 4, nExcluded: 0, note: '' });
  });
});

/**
 * The paper's tables and figures on a dataset small enough to compute by hand: two CT units and one MR
 * unit of the liver, SAM and SAM 2, one click (n = 1) and two clicks (n = 2), rule "predicted IoU".
 *
 *              CT u0   CT u1   MR u2
 *   SAM   n=1   0.40    0.60    0.50
 *   SAM 2 n=1   0.50    0.90    0.20
 *   SAM   n=2   0.70    0.80    0.60
 *   SAM 2 n=2   0.60    0.80    0.40
 */
describe("the paper's tables and figures, computed by hand", () => {
  const DICE: Record<string, readonly number[]> = {
    'sam|1': [0.4, 0.6, 0.5],
    'sam2|1': [0.5, 0.9, 0.2],
    'sam|2': [0.7, 0.8, 0.6],
    'sam2|2': [0.6, 0.8, 0.4],
  };
  const rows: ResultRow[] = [];
  for (const [k, ds] of Object.entries(DICE)) {
    const [slot, n] = k.split('|');
    ds.forEach((dice, u) =>
      rows.push({
        ...OK,
        ...(slot === 'sam2' ? SAM2 : {}),
        modality: u < 2 ? 'CT' : 'MR',
        case: `c${u}`,
        slice: u,
        n_points: Number(n),
        dice,
        // A second candidate that no rule but "first" picks, with a higher Dice: must not leak in.
        selected_by: 'predicted-iou|oracle',
        candidate: '1',
      }),
    );
    ds.forEach((_, u) =>
      rows.push({
        ...OK,
        ...(slot === 'sam2' ? SAM2 : {}),
        modality: u < 2 ? 'CT' : 'MR',
        case: `c${u}`,
        slice: u,
        n_points: Number(n),
        dice: 0.99,
        selected_by: 'first',
        candidate: '0',
      }),
    );
  }

  it('Table: mean, sd (n − 1), median and IQR per structure, modality, model and n', () => {
    const s = summarize(rows, ['predicted-iou'], ['dice']);
    const ct = s.find((r) => r.modality === 'CT' && r.model_slot === 'sam2' && r.n_points === 1);
    // CT SAM 2 n=1: {0.5, 0.9}: mean 0.7, sd √((0.04 + 0.04) / 1) = 0.2828, median 0.7.
    expect(ct?.n).toBe(2);
    expect(ct?.mean).toBeCloseTo(0.7, 12);
    expect(ct?.sd).toBeCloseTo(Math.sqrt(0.08), 12);
    expect(ct?.median).toBeCloseTo(0.7, 12);
    const mr = s.find((r) => r.modality === 'MR' && r.model_slot === 'sam' && r.n_points === 2);
    expect(mr?.n).toBe(1);
    expect(mr?.mean).toBeCloseTo(0.6, 12);
  });

  it('Figure 1: mean Dice per structure per modality, SAM vs SAM 2, at one click', () => {
    const bars = figure1(rows, 'predicted-iou');
    const bar = (modality: string, model: string) =>
      bars.find((b) => b.modality === modality && b.model === model);
    expect(bar('CT', 'sam')?.mean).toBeCloseTo(0.5, 12); // (0.4 + 0.6) / 2
    expect(bar('CT', 'sam2')?.mean).toBeCloseTo(0.7, 12); // (0.5 + 0.9) / 2
    expect(bar('MR', 'sam')?.mean).toBeCloseTo(0.5, 12);
    expect(bar('MR', 'sam2')?.mean).toBeCloseTo(0.2, 12);
    expect(bars).toHaveLength(4);
  });

  it('Figure 2: mean Dice against the number of clicks, one line per model and modality, with 95 % intervals', () => {
    const ct = figure2(rows, 'predicted-iou').filter((p) => p.modality === 'CT');
    expect(ct.map((p) => [p.model, p.n_points, +p.mean.toFixed(10)])).toEqual([
      ['sam', 1, 0.5],
      ['sam', 2, 0.75],
      ['sam2', 1, 0.7],
      ['sam2', 2, 0.7],
    ]);
    // CT SAM n=1: sd of {0.4, 0.6} = 0.1414; half-width 1.96 · 0.1414 / √2 = 0.196.
    const p = ct[0]!;
    expect(p.ciHigh - p.mean).toBeCloseTo(0.196, 10);
  });

  it('paired SAM 2 − SAM: mean difference and wins on the same units, higher Dice winning', () => {
    const paired = pairedSummary(rows, 'predicted-iou', 'dice', 'seed', 200);
    const ct1 = paired.find((r) => r.modality === 'CT' && r.n_points === 1);
    // Differences SAM 2 − SAM: +0.1, +0.3 → mean +0.2; SAM 2 better on both.
    expect(ct1?.n).toBe(2);
    expect(ct1?.meanDiff).toBeCloseTo(0.2, 12);
    expect([ct1?.winsA, ct1?.winsB, ct1?.ties]).toEqual([0, 2, 0]);
    const ct2 = paired.find((r) => r.modality === 'CT' && r.n_points === 2);
    // −0.1 and 0 → mean −0.05; SAM better once, one tie.
    expect(ct2?.meanDiff).toBeCloseTo(-0.05, 12);
    expect([ct2?.winsA, ct2?.winsB, ct2?.ties]).toEqual([1, 0, 1]);
  });

  it('HD95 wins go to the smaller distance (lower is better), Dice wins to the higher', () => {
    // One CT unit: SAM 2 overlaps more (Dice 0.9 vs 0.5) and is closer (HD95 2 mm vs 9 mm).
    const unit = (slot: 'sam' | 'sam2', dice: number, hd95: number): ResultRow => ({
      ...OK,
      ...(slot === 'sam2' ? SAM2 : {}),
      dice,
      hd95,
      selected_by: 'first',
    });
    const two = [unit('sam', 0.5, 9), unit('sam2', 0.9, 2)];
    const [byHd] = pairedSummary(two, 'first', 'hd95', 's', 50);
    expect(byHd?.meanDiff).toBeCloseTo(-7, 12);
    expect([byHd?.winsA, byHd?.winsB]).toEqual([0, 1]);
    const [byDice] = pairedSummary(two, 'first', 'dice', 's', 50);
    expect([byDice?.winsA, byDice?.winsB]).toEqual([0, 1]);
  });

  it('the scatter pairs each unit once, SAM against SAM 2', () => {
    const pts = scatter(rows, 'predicted-iou');
    expect(pts.map((p) => [p.case, p.sam, p.sam2])).toEqual([
      ['c0', 0.4, 0.5],
      ['c1', 0.6, 0.9],
      ['c2', 0.5, 0.2],
    ]);
  });
});

describe('rowModels', () => {
  it('names both models and says "test fixture" when any row comes from one', () => {
    const real = [
      { ...OK, is_fixture: false, model_label: 'SAM ViT-B (int8)' },
      { ...OK, ...SAM2, is_fixture: false, model_label: 'SAM 2.1 tiny' },
    ];
    const r = rowModels(real);
    expect(r.fixture).toBe(false);
    expect(r.caption).toBe('SAM: SAM ViT-B (int8) · SAM 2: SAM 2.1 tiny');
    const mixed = rowModels([...real, { ...OK, ...SAM2, is_fixture: true, model_label: 'fixture' }]);
    expect(mixed.fixture).toBe(true);
    expect(mixed.sam2).toEqual(['SAM 2.1 tiny', 'fixture']);
    expect(mixed.caption).toMatch(/^TEST FIXTURE models, not SAM/);
  });
});
