/** The small part of plotly.js this app uses (plotly.js-basic-dist-min ships no types). */
declare module 'plotly.js-basic-dist-min' {
  export interface PlotlyHTMLElement extends HTMLDivElement {
    on: (
      event: 'plotly_click',
      cb: (e: {
        points: readonly { customdata?: unknown; pointIndex: number; curveNumber: number }[];
      }) => void,
    ) => void;
    removeAllListeners?: (event: string) => void;
  }
  export type Datum = string | number | null;
  export interface Trace {
    type: 'bar' | 'scatter';
    mode?: string;
    name?: string;
    x?: readonly Datum[];
    y?: readonly Datum[];
    text?: readonly string[] | string;
    customdata?: readonly unknown[];
    marker?: Record<string, unknown>;
    line?: Record<string, unknown>;
    error_y?: Record<string, unknown>;
    xaxis?: string;
    yaxis?: string;
    hovertemplate?: string;
    legendgroup?: string;
    showlegend?: boolean;
  }
  export interface Layout {
    [key: string]: unknown;
  }
  export function react(
    el: HTMLElement,
    data: readonly Trace[],
    layout?: Layout,
    config?: Record<string, unknown>,
  ): Promise<PlotlyHTMLElement>;
  export function purge(el: HTMLElement): void;
  export function toImage(
    el: HTMLElement,
    opts: { format: 'png' | 'svg'; width: number; height: number },
  ): Promise<string>;
  const Plotly: { react: typeof react; purge: typeof purge; toImage: typeof toImage };
  export default Plotly;
}
