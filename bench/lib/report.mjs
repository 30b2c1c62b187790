// Prints the benchmark's table (figure, ours, peer stack, target, result) and its notes.

const text = (value) => (value === undefined || value === null ? '—' : String(value));

/** `PASS`, `FAIL`, or `—` for figures without a pass rule (references, pending). */
export function verdict(row) {
  return row.pass === true ? 'PASS' : row.pass === false ? 'FAIL' : '—';
}

function table(headers, lines) {
  const widths = headers.map((h, i) => Math.max(h.length, ...lines.map((line) => line[i].length)));
  const format = (cells) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [format(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...lines.map(format)].join('\n');
}

export function renderTable(rows) {
  return table(
    ['#', 'Figure', 'Ours', 'Peer stack', 'Target', 'Ours'],
    rows.map((row) => [
      row.id,
      row.label ?? row.name,
      text(row.oursText ?? row.ours),
      text(row.peerText ?? row.peer),
      text(row.target),
      verdict(row),
    ]),
  );
}

export function renderNotes(rows) {
  const out = [];
  const methods = new Map();
  for (const row of rows) {
    out.push(`${row.id}. ${row.name}${row.note ? `\n    ${row.note}` : ''}`);
    if (row.method && !methods.has(row.method)) methods.set(row.method, []);
    methods.get(row.method)?.push(row.id);
  }
  out.push('', 'How each figure is measured:');
  for (const [method, ids] of methods) out.push(`  [${ids.join(', ')}] ${method}`);
  return out.join('\n');
}
