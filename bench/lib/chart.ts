// A dependency-free SVG chart of one run: req/s (left) and p99 (right) per scenario, as
// horizontal bars. Tollgate's scenarios are drawn in a colour of their own.
import type { BenchResults } from "./results.ts";

const ROW = 30;
const TOP = 70;
const LABEL_W = 410;
const PANEL_W = 300;
const GAP = 60;

export function renderChart(r: BenchResults): string {
  const rows = r.scenarios.filter((s) => s.status === "ok" && s.median !== undefined);
  const height = TOP + Math.max(1, rows.length) * ROW + 40;
  const width = LABEL_W + PANEL_W * 2 + GAP + 90;
  const maxRps = Math.max(1, ...rows.map((s) => s.median?.rps ?? 0));
  const maxP99 = Math.max(1, ...rows.map((s) => s.median?.p99 ?? 0));
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="24" font-size="16" font-weight="bold">${esc(title(r))}</text>`,
    `<text x="${LABEL_W}" y="${TOP - 14}" font-weight="bold">requests/s (median, higher is better)</text>`,
    `<text x="${LABEL_W + PANEL_W + GAP}" y="${TOP - 14}" font-weight="bold">p99 latency ms (median, lower is better)</text>`,
  );
  rows.forEach((s, i) => {
    const y = TOP + i * ROW;
    const colour = s.id.startsWith("tollgate") ? "#2b7a78" : s.id === "direct" ? "#999999" : "#c06c3e";
    const rps = s.median?.rps ?? 0;
    const p99 = s.median?.p99 ?? 0;
    const wRps = Math.max(1, (rps / maxRps) * (PANEL_W - 10));
    const wP99 = Math.max(1, (p99 / maxP99) * (PANEL_W - 10));
    parts.push(
      `<text x="${LABEL_W - 8}" y="${y + 17}" text-anchor="end">${esc(s.title)}</text>`,
      `<rect x="${LABEL_W}" y="${y + 4}" width="${wRps.toFixed(1)}" height="${ROW - 10}" fill="${colour}"/>`,
      `<text x="${(LABEL_W + wRps + 4).toFixed(1)}" y="${y + 17}" font-size="11">${Math.round(rps).toLocaleString("en-US")}</text>`,
      `<rect x="${LABEL_W + PANEL_W + GAP}" y="${y + 4}" width="${wP99.toFixed(1)}" height="${ROW - 10}" fill="${colour}"/>`,
      `<text x="${(LABEL_W + PANEL_W + GAP + wP99 + 4).toFixed(1)}" y="${y + 17}" font-size="11">${p99.toFixed(1)}</text>`,
    );
  });
  parts.push(
    `<text x="12" y="${height - 14}" font-size="11" fill="#555">${esc(footer(r))}</text>`,
    "</svg>",
  );
  return parts.join("\n") + "\n";
}

function title(r: BenchResults): string {
  return `Tollgate bench ${r.startedAt.slice(0, 10)}${r.settings.quick ? " (quick smoke run)" : ""}`;
}

function footer(r: BenchResults): string {
  const s = r.settings;
  return `${r.machine.cpuModel}, ${r.machine.cores} cores, Node ${r.machine.node}; autocannon ${s.connections} connections, ${s.rounds}×${s.durationS} s interleaved; upstream ${r.upstream}`;
}

function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
