import { describe, expect, it } from 'vitest';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { formatYamlIssues, locateYamlPath } from './yaml-locations.ts';

const TEXT = [
  'server:', //                        1
  '  port: 8080', //                   2
  'pools:', //                         3
  '  - id: a', //                      4
  '    numbers:', //                   5
  '      - address: "+14155550100"', // 6
  '        mps: 1', //                 7
  '  - { id: b, numbers: [] }', //     8
  'note: |', //                        9
  '  free text', //                    10
].join('\n');

function parse(text = TEXT) {
  const lineCounter = new LineCounter();
  return { doc: parseDocument(text, { lineCounter }), lineCounter };
}

describe('locateYamlPath', () => {
  const { doc, lineCounter } = parse();

  it('points at a scalar value in nested mappings and sequences', () => {
    expect(locateYamlPath(doc, lineCounter, ['server', 'port'])).toEqual({ line: 2, col: 9 });
    expect(locateYamlPath(doc, lineCounter, ['pools', 0, 'numbers', 0, 'mps'])).toEqual({ line: 7, col: 14 });
  });

  it('points at the key of a mapping or sequence value and at the start of a sequence item', () => {
    expect(locateYamlPath(doc, lineCounter, ['pools'])).toEqual({ line: 3, col: 1 });
    expect(locateYamlPath(doc, lineCounter, ['pools', 0, 'numbers'])).toEqual({ line: 5, col: 5 });
    expect(locateYamlPath(doc, lineCounter, ['pools', 1])).toEqual({ line: 8, col: 5 });
  });

  it('places a block scalar on the line of its key', () => {
    expect(locateYamlPath(doc, lineCounter, ['note'])).toEqual({ line: 9, col: 7 });
  });

  it('falls back to the deepest existing part of a path that leaves the document', () => {
    expect(locateYamlPath(doc, lineCounter, ['pools', 0, 'senderType'])?.line).toBe(4);
    expect(locateYamlPath(doc, lineCounter, ['pools', 5, 'id'])?.line).toBe(3);
  });

  it('returns null for an empty document', () => {
    const empty = parse('');
    expect(locateYamlPath(empty.doc, empty.lineCounter, ['a'])).toBeNull();
  });
});

describe('formatYamlIssues', () => {
  it('prints file:line:col, the path and the message, pointing unknown keys at themselves', () => {
    const { doc, lineCounter } = parse();
    const schema = z.strictObject({
      server: z.strictObject({ port: z.string() }),
      pools: z.array(z.object({ id: z.string() })),
    });
    const result = schema.safeParse(doc.toJS());
    expect(formatYamlIssues('gw.yaml', doc, lineCounter, result.error!.issues)).toEqual([
      'gw.yaml:2:9: server.port: Invalid input: expected string, received number',
      'gw.yaml:9:1: (root): Unrecognized key: "note"',
    ]);
  });

  it('prefixes issue paths with where the validated section sits', () => {
    const { doc, lineCounter } = parse();
    const issues = [{ path: [0, 'numbers', 0, 'mps'], message: 'too slow' }];
    expect(formatYamlIssues('gw.yaml', doc, lineCounter, issues, ['pools'])).toEqual([
      'gw.yaml:7:14: pools.0.numbers.0.mps: too slow',
    ]);
  });
});
