/** A deb822 paragraph: field names lower-cased, continuation lines joined with "\n". */
export interface Stanza {
  fields: Map<string, string>;
  /** 1-based line number where the stanza starts */
  line: number;
  problems: string[];
}

/**
 * Splits a dpkg control file (status, status.d entry) into stanzas. Never throws: lines that are
 * neither `Field: value` nor continuations are reported in the stanza's `problems`.
 */
export function parseControl(text: string): Stanza[] {
  const stanzas: Stanza[] = [];
  let current: Stanza | undefined;
  let lastField: string | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').replace(/\r$/, '');
    if (line.trim() === '') {
      current = undefined;
      lastField = undefined;
      continue;
    }
    if (!current) {
      current = { fields: new Map(), line: i + 1, problems: [] };
      stanzas.push(current);
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (lastField === undefined) {
        current.problems.push(`line ${i + 1}: continuation line without a field`);
        continue;
      }
      current.fields.set(lastField, `${current.fields.get(lastField) ?? ''}\n${line.trim()}`);
      continue;
    }
    if (line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!/^[!-9;-~]+$/.test(name)) {
      current.problems.push(`line ${i + 1}: not a "Field: value" line`);
      lastField = undefined;
      continue;
    }
    lastField = name.toLowerCase();
    if (current.fields.has(lastField)) current.problems.push(`line ${i + 1}: duplicate field ${name}`);
    current.fields.set(lastField, line.slice(colon + 1).trim());
  }
  return stanzas;
}
