// The trend chart: open findings per day and severity, drawn by uPlot (canvas; no inline styles
// beyond what the CSSOM sets, so it runs under the console's CSP).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { TrendPoint } from './api.js';
import { h } from './dom.js';
import { countKey, SEVERITIES } from './ui.js';

const COLORS: Record<string, string> = { CRITICAL: '#b91c1c', HIGH: '#ea580c', MEDIUM: '#ca8a04', LOW: '#2563eb', UNKNOWN: '#6b7280' };

/** A chart element for the points; call the returned destroy when the page is left. */
export function trendChart(points: TrendPoint[]): { el: HTMLElement; destroy(): void } {
  const last = points.at(-1)?.open;
  // (the newest point's values are on the element too: the canvas itself has no text to read)
  const el = h('div', {
    class: 'chart',
    'data-test': 'trend-chart',
    'data-points': points.length,
    ...(last ? Object.fromEntries(SEVERITIES.map((s) => [`data-last-${s.toLowerCase()}`, last[countKey(s)]])) : {}),
  });
  const xs = points.map((p) => Date.parse(`${p.day}T00:00:00Z`) / 1000);
  const data: uPlot.AlignedData = [xs, ...SEVERITIES.map((s) => points.map((p) => p.open[countKey(s)]))];
  const width = () => Math.max(320, Math.min(el.parentElement?.clientWidth ?? 800, 1400) - 8);
  const plot = new uPlot(
    {
      width: 800,
      height: 240,
      scales: { x: { time: true } },
      axes: [{}, { label: 'open findings', size: 60 }],
      series: [{}, ...SEVERITIES.map((s) => ({ label: s.toLowerCase(), stroke: COLORS[s] ?? '#000', width: 2, points: { show: points.length < 40 } }))],
      legend: { show: true },
    },
    data,
    el,
  );
  const resize = () => plot.setSize({ width: width(), height: 240 });
  requestAnimationFrame(resize);
  window.addEventListener('resize', resize);
  return {
    el,
    destroy: () => {
      window.removeEventListener('resize', resize);
      plot.destroy();
    },
  };
}
