/**
 * The summary of a bench run: the headline ratios (godelayq / peer) as a
 * table on stdout and as an SVG bar chart, drawn here with plain strings so
 * the chart needs no dependency. One bar a headline on a log scale centred
 * on 1 (left of the line: godelayq is faster or smaller), a tick at the
 * target when there is one.
 */
import type { Headline } from './lib.js';

const f2 = (x: number): string => `${x.toFixed(2)}x`;

/** ours / theirs, and whether the target (if any) is met. */
export function verdict(h: Headline): { ratio: number; met: boolean | undefined } {
  const ratio = h.ours / h.theirs;
  return { ratio, met: h.target === undefined ? undefined : ratio <= h.target };
}

/** The summary table as text, one line a headline. */
export function summaryTable(list: readonly Headline[]): string {
  const lines = [['figure', 'vs', 'ours', 'theirs', 'ratio', 'target', '']];
  for (const h of list) {
    const { ratio, met } = verdict(h);
    lines.push([
      h.label,
      h.peer,
      h.ours.toPrecision(3),
      h.theirs.toPrecision(3),
      f2(ratio),
      h.target === undefined ? '' : `<= ${f2(h.target)}`,
      met === undefined ? '' : met ? 'met' : 'MISSED',
    ]);
  }
  const widths = lines[0]!.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
  const render = (l: string[]): string =>
    l.map((cell, c) => (c >= 2 && c <= 4 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  return [render(lines[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.slice(1).map(render)].join('\n');
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * An SVG bar chart of the headline ratios. `caption` goes under the title
 * (machine, date, command).
 */
export function ratioChart(list: readonly Headline[], caption: string): string {
  const labelW = 430;
  const plotW = 420;
  const rowH = 26;
  const top = 58;
  const width = labelW + plotW + 90;
  const height = top + rowH * list.length + 40;
  // Log scale from 1/8 to 8, clamped: the bar length shows "how many times".
  const span = Math.log(8);
  const x = (ratio: number): number => {
    const r = Math.min(Math.max(ratio, 1 / 8), 8);
    return labelW + (plotW / 2) * (1 + Math.log(r) / span);
  };
  const one = x(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">godelayq vs peers: ours / theirs (left of 1x: godelayq faster or smaller)</text>`,
    `<text x="10" y="38" fill="#555">${escapeXml(caption)}</text>`,
  ];
  for (const tick of [1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8]) {
    const tx = x(tick);
    out.push(`<line x1="${tx}" y1="${top - 6}" x2="${tx}" y2="${top + rowH * list.length}" stroke="${tick === 1 ? '#000' : '#ddd'}"/>`);
    out.push(`<text x="${tx}" y="${top + rowH * list.length + 16}" text-anchor="middle" fill="#555">${tick < 1 ? `1/${1 / tick}` : tick}x</text>`);
  }
  list.forEach((h, i) => {
    const { ratio, met } = verdict(h);
    const y = top + i * rowH;
    const bx = x(ratio);
    const colour = met === false ? '#d9534f' : ratio <= 1 ? '#3c8d40' : '#e0a030';
    out.push(`<text x="${labelW - 8}" y="${y + 16}" text-anchor="end">${escapeXml(`${h.label} vs ${h.peer}`)}</text>`);
    out.push(`<rect x="${Math.min(bx, one)}" y="${y + 5}" width="${Math.max(1, Math.abs(bx - one))}" height="${rowH - 10}" fill="${colour}"/>`);
    if (h.target !== undefined) {
      const tx = x(h.target);
      out.push(`<line x1="${tx}" y1="${y + 2}" x2="${tx}" y2="${y + rowH - 2}" stroke="#000" stroke-width="2" stroke-dasharray="3,2"/>`);
    }
    const verdictText = met === undefined ? '' : met ? ' ✓' : ' ✗';
    out.push(`<text x="${labelW + plotW + 8}" y="${y + 16}">${f2(ratio)}${verdictText}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
