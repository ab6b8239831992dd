import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Calls the harness's to_jsonable() on a Python expression, outside any sandbox (trusted literals only). */
function jsonable(expression: string): unknown {
  const script = [
    'import json, sys',
    `sys.path.insert(0, ${JSON.stringify(join(__dirname, 'python'))})`,
    'from pyexec_sandbox.result_rule import to_jsonable',
    `print(json.dumps(to_jsonable(${expression}), allow_nan=False))`,
  ].join('\n');
  return JSON.parse(execFileSync('/usr/bin/python3', ['-I', '-S', '-B', '-c', script], { encoding: 'utf8' }));
}

describe('result serialization (to_jsonable)', () => {
  it.each([
    ['None', null],
    ['True', true],
    ['42', 42],
    ['1.5', 1.5],
    ["'text'", 'text'],
    ["[1, 'a', None]", [1, 'a', null]],
    ['(1, (2, 3))', [1, [2, 3]]],
    ["{'a': {'b': [1]}}", { a: { b: [1] } }],
    ["{1: 'x', None: 'y', 2.5: 'z', False: 'f'}", { '1': 'x', null: 'y', '2.5': 'z', false: 'f' }],
    ["{(1, 2): 'tuple key'}", { '(1, 2)': 'tuple key' }],
    ['{1, 2}', '{1, 2}'],
    ["float('nan')", 'nan'],
    ["float('inf')", 'inf'],
    ['object', "<class 'object'>"],
    ["b'bytes'", "b'bytes'"],
  ])('%s', (expression, expected) => {
    expect(jsonable(expression)).toEqual(expected);
  });

  it('cycles and depth become repr() instead of recursing forever', () => {
    expect(jsonable('(lambda l: (l.append(l), l)[1])([])')).toEqual(['[[...]]']);
    const deep = jsonable('(lambda f: f(f, 150))(lambda f, n: [f(f, n - 1)] if n else 0)');
    expect(JSON.stringify(deep)).toContain('[[[');
  });
});
