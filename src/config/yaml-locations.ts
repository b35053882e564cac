import { type Document, isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml';

/** A 1-based position in a YAML file. */
export interface YamlLocation {
  line: number;
  col: number;
}

/** The parts of a schema issue (zod's shape) needed to place it in a file. */
export interface LocatableIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly code?: string;
  /** Unrecognized keys (zod's `unrecognized_keys`): the first one is located, not its parent. */
  readonly keys?: readonly string[];
}

/**
 * Where the value at `path` is written: a scalar's own position, a mapping or sequence's key,
 * a sequence item's start. A path that leaves the document (e.g. a required key that is missing) resolves to
 * the deepest part that exists; null only for an empty document. `key: true` points at the last
 * key itself (e.g. an unknown key) rather than its value. The document must have been
 * parsed with `lineCounter`.
 */
export function locateYamlPath(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
  options: { key?: boolean } = {},
): YamlLocation | null {
  let node: unknown = doc.contents;
  let offset = startOf(node);
  for (const [depth, key] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(key));
      if (pair === undefined) break;
      // A scalar is pointed at itself; a collection at its key, since its own start is its first child.
      const atKey = options.key === true && depth === path.length - 1;
      offset = (isScalar(pair.value) && !atKey ? startOf(pair.value) : null) ?? startOf(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && Number.isInteger(Number(key))) {
      node = node.items[Number(key)];
      if (node === undefined) break;
      offset = startOf(node) ?? offset;
    } else {
      break;
    }
  }
  return offset === null ? null : lineCounter.linePos(offset);
}

/**
 * One `file:line:col: path: message` line per schema issue. `prefix` is where the validated value
 * sits in the document (e.g. `['policy', 'content']` when only that section was validated).
 */
export function formatYamlIssues(
  file: string,
  doc: Document,
  lineCounter: LineCounter,
  issues: readonly LocatableIssue[],
  prefix: readonly PropertyKey[] = [],
): string[] {
  return issues.map((issue) => {
    const path = [...prefix, ...issue.path];
    const key = issue.code === 'unrecognized_keys' ? issue.keys?.[0] : undefined;
    const at =
      key === undefined
        ? locateYamlPath(doc, lineCounter, path)
        : locateYamlPath(doc, lineCounter, [...path, key], { key: true });
    const where = at === null ? file : `${file}:${at.line}:${at.col}`;
    return `${where}: ${path.map(String).join('.') || '(root)'}: ${issue.message}`;
  });
}

function startOf(node: unknown): number | null {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : null;
}
