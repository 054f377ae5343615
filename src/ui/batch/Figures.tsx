import { useCallback, useMemo, useRef } from 'react';
import type { Layout, Trace } from 'plotly.js-basic-dist-min';
import type { SelectionRule } from '../../core/models/selection';
import type { ResultRow } from '../../batch/results';
import { figure1, figure2, rowModels, scatter, type RowModels, type ScatterPoint } from '../../batch/summary';
import { Plot, type PlotHandle } from '../charts/Plot';
import { useBatchActions } from '../context';

const COLOR = { sam: '#ff9e3d', sam2: '#58a6ff' } as const;
const NAME = { sam: 'SAM', sam2: 'SAM 2' } as const;

function Exports({ name, handle }: { name: string; handle: React.RefObject<PlotHandle | null> }) {
  const actions = useBatchActions();
  return (
    <div className="row">
      {(['png', 'svg'] as const).map((f) => (
        <button
          key={f}
          data-testid={`export-${name}-${f}`}
          onClick={() => {
            const h = handle.current;
            if (h) void h.toImage(f).then((url) => actions.exportFigure(name, f, url));
          }}
        >
          {f.toUpperCase()}
        </button>
      ))}
    </div>
  );
}

/** A figure's title with its models underneath, in amber when they are test fixtures. */
function titled(text: string, models: RowModels) {
  return {
    text: `${text}<br><sup>${models.caption}</sup>`,
    ...(models.fixture ? { font: { color: '#b45309' } } : {}),
  };
}

/** The paper's Figure 1 and Figure 2, and a per-unit scatter that opens a unit in the viewer. */
export function Figures({ rows, rule }: { rows: readonly ResultRow[]; rule: SelectionRule }) {
  const actions = useBatchActions();
  const h1 = useRef<PlotHandle | null>(null);
  const h2 = useRef<PlotHandle | null>(null);
  const h3 = useRef<PlotHandle | null>(null);
  const f1 = useMemo(() => figure1(rows, rule), [rows, rule]);
  const f2 = useMemo(() => figure2(rows, rule), [rows, rule]);
  const sc = useMemo(() => scatter(rows, rule), [rows, rule]);
  // Every figure names its models, and a fixture run says so in the figure itself (and so in its PNG/SVG).
  const models = useMemo(() => rowModels(rows), [rows]);

  const modalities = [...new Set(f1.map((b) => b.modality))].sort();

  const fig1 = useMemo(() => {
    const data: Trace[] = [];
    modalities.forEach((m, i) => {
      for (const model of ['sam', 'sam2'] as const) {
        const bars = f1
          .filter((b) => b.modality === m && b.model === model)
          .sort((a, b) => a.structure.localeCompare(b.structure));
        data.push({
          type: 'bar',
          name: NAME[model],
          legendgroup: model,
          showlegend: i === 0,
          x: bars.map((b) => b.structure.replace(/_/g, ' ')),
          y: bars.map((b) => b.mean),
          error_y: {
            type: 'data',
            array: bars.map((b) => (Number.isFinite(b.sd) ? b.sd : 0)),
            visible: true,
            thickness: 1,
          },
          marker: { color: COLOR[model] },
          xaxis: i === 0 ? 'x' : `x${i + 1}`,
          yaxis: i === 0 ? 'y' : `y${i + 1}`,
          hovertemplate: `${m} %{x}<br>mean Dice %{y:.3f}<extra>${NAME[model]}</extra>`,
        });
      }
    });
    const layout: Layout = {
      title: titled('Figure 1 — mean Dice per structure (1 centre click), SAM vs SAM 2', models),
      barmode: 'group',
      grid: { rows: 1, columns: Math.max(1, modalities.length), pattern: 'independent' },
      annotations: modalities.map((m, i) => ({
        text: m,
        showarrow: false,
        xref: `x${i === 0 ? '' : i + 1} domain`,
        yref: 'paper',
        x: 0.5,
        y: 1.02,
      })),
      yaxis: { range: [0, 1], title: { text: 'Dice' } },
      height: 420,
    };
    return { data, layout };
  }, [f1, modalities, models]);

  const fig2 = useMemo(() => {
    const data: Trace[] = [];
    for (const m of [...new Set(f2.map((p) => p.modality))].sort()) {
      for (const model of ['sam', 'sam2'] as const) {
        const pts = f2.filter((p) => p.modality === m && p.model === model);
        data.push({
          type: 'scatter',
          mode: 'lines+markers',
          name: `${NAME[model]} · ${m}`,
          x: pts.map((p) => p.n_points),
          y: pts.map((p) => p.mean),
          error_y: {
            type: 'data',
            symmetric: false,
            array: pts.map((p) => p.ciHigh - p.mean),
            arrayminus: pts.map((p) => p.mean - p.ciLow),
            visible: true,
          },
          line: { color: COLOR[model], dash: m === 'CT' ? 'solid' : m === 'MR' ? 'dot' : 'dash' },
        });
      }
    }
    const layout: Layout = {
      title: titled('Figure 2 — mean Dice vs positive clicks (95 % CI of the mean)', models),
      xaxis: { title: { text: 'positive clicks' }, dtick: 1 },
      yaxis: { range: [0, 1], title: { text: 'Dice' } },
      height: 380,
    };
    return { data, layout };
  }, [f2, models]);

  const fig3 = useMemo(() => {
    const data: Trace[] = [
      {
        type: 'scatter',
        mode: 'markers',
        name: 'units',
        x: sc.map((p) => p.sam),
        y: sc.map((p) => p.sam2),
        customdata: sc,
        text: sc.map((p) => `${p.case} · slice ${p.slice} · ${p.structure}`),
        hovertemplate: '%{text}<br>SAM %{x:.3f} · SAM 2 %{y:.3f}<extra></extra>',
        marker: { color: '#c9d1d9', size: 7, opacity: 0.8 },
      },
      {
        type: 'scatter',
        mode: 'lines',
        name: 'equal',
        x: [0, 1],
        y: [0, 1],
        line: { color: '#6e7681', dash: 'dot' },
        showlegend: false,
      },
    ];
    const layout: Layout = {
      title: titled('Per unit: SAM vs SAM 2 Dice (1 centre click) — click a point to open it', models),
      xaxis: { range: [0, 1], title: { text: 'SAM Dice' } },
      yaxis: { range: [0, 1], title: { text: 'SAM 2 Dice' } },
      height: 420,
    };
    return { data, layout };
  }, [sc, models]);

  const onPoint = useCallback(
    (d: unknown) => {
      const p = d as ScatterPoint | undefined;
      if (p) void actions.openUnit(p);
    },
    [actions],
  );
  const set1 = useCallback((h: PlotHandle) => (h1.current = h), []);
  const set2 = useCallback((h: PlotHandle) => (h2.current = h), []);
  const set3 = useCallback((h: PlotHandle) => (h3.current = h), []);
  if (rows.length === 0) return null;
  return (
    <div className="figures">
      <Plot testId="figure1" data={fig1.data} layout={fig1.layout} onReady={set1} />
      <Exports name="figure1" handle={h1} />
      <Plot testId="figure2" data={fig2.data} layout={fig2.layout} onReady={set2} />
      <Exports name="figure2" handle={h2} />
      <Plot testId="scatter" data={fig3.data} layout={fig3.layout} onReady={set3} onPointClick={onPoint} />
      <Exports name="scatter" handle={h3} />
    </div>
  );
}
