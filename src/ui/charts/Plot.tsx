/**
 * A thin React wrapper around plotly (Plotly.react in an effect, Plotly.purge on unmount). plotly is
 * loaded on first use only, so it never weighs on the initial bundle.
 */
import { useEffect, useRef, useState } from 'react';
import type { Layout, PlotlyHTMLElement, Trace } from 'plotly.js-basic-dist-min';

type PlotlyModule = typeof import('plotly.js-basic-dist-min');
let plotly: Promise<PlotlyModule> | null = null;
export function loadPlotly(): Promise<PlotlyModule> {
  plotly ??= import('plotly.js-basic-dist-min');
  return plotly;
}

export interface PlotHandle {
  readonly toImage: (format: 'png' | 'svg') => Promise<string>;
}

export function Plot({
  data,
  layout,
  onPointClick,
  testId,
  onReady,
}: {
  data: readonly Trace[];
  layout: Layout;
  onPointClick?: (customdata: unknown) => void;
  testId: string;
  onReady?: (h: PlotHandle) => void;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    let cancelled = false;
    void loadPlotly()
      .then(async (P) => {
        if (cancelled) return;
        const dark = {
          paper_bgcolor: '#161b22',
          plot_bgcolor: '#0e1116',
          font: { color: '#e6edf3', size: 12 },
          margin: { l: 56, r: 16, t: 36, b: 80 },
        };
        const gd: PlotlyHTMLElement = await P.default.react(
          el,
          data,
          { ...dark, ...layout },
          { displaylogo: false, responsive: true },
        );
        gd.removeAllListeners?.('plotly_click');
        if (onPointClick) gd.on('plotly_click', (e) => onPointClick(e.points[0]?.customdata));
        el.setAttribute('data-rendered', 'true');
        onReady?.({ toImage: (format) => P.default.toImage(el, { format, width: 1000, height: 600 }) });
      })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
    return () => {
      cancelled = true;
    };
  }, [data, layout, onPointClick, onReady]);
  useEffect(() => {
    const el = ref.current;
    return () => {
      if (el) void loadPlotly().then((P) => P.default.purge(el));
    };
  }, []);
  return (
    <div className="plot" data-testid={testId}>
      {error && <div className="error-text">Plot failed: {error}</div>}
      <div ref={ref} />
    </div>
  );
}
