// Chart.js (vendored, window.Chart) behind one call: a canvas keeps one chart, redrawn
// in place when the page reloads its data.

const drawn = new Map();
export const PALETTE = ["#1f77b4", "#2ca02c", "#17becf", "#9467bd", "#ff7f0e", "#8c564b", "#d62728", "#7f7f7f"];

export function draw(canvasId, type, labels, datasets, options = {}) {
  drawn.get(canvasId)?.destroy();
  const canvas = document.getElementById(canvasId);
  const chart = new window.Chart(canvas, {
    type,
    data: { labels, datasets },
    options: { animation: false, responsive: true, maintainAspectRatio: true, ...options },
  });
  drawn.set(canvasId, chart);
  return chart;
}
