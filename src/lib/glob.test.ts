import assert from 'node:assert/strict';
import { test } from 'node:test';
import { glob } from './glob.js';

const yes = (p: string, s: string) => assert.ok(glob(p).test(s), `${p} should match ${JSON.stringify(s)}`);
const no = (p: string, s: string) => assert.ok(!glob(p).test(s), `${p} should not match ${JSON.stringify(s)}`);

test('literals match themselves, whole and case-sensitively', () => {
  yes('web', 'web');
  no('web', 'Web');
  no('web', 'web1');
  no('web', 'xweb');
  yes('(x).[y]+$^|{}', '(x).[y]+$^|{}');
  no('a.c', 'abc');
});

test('empty pattern matches only the empty string; * matches anything', () => {
  yes('', '');
  no('', 'a');
  yes('*', '');
  yes('*', 'anything at all\n');
  yes('**', '');
});

test('? is exactly one character', () => {
  yes('web-v?', 'web-v2');
  no('web-v?', 'web-v10');
  no('web-v?', 'web-v');
  yes('???', 'a\nb');
  yes('a?c*', 'abc');
  yes('*?', 'x');
  no('*?', '');
});

test('* is any run, at the start, the end, the middle', () => {
  yes('web-*', 'web-');
  yes('web-*', 'web-v1');
  no('web-*', 'Web-v3');
  yes('*-v1', 'web-v1');
  yes('a*b*c', 'abc');
  yes('a*b*c', 'aXXbYYc');
  no('a*b*c', 'aXXcYYb');
  yes('*ab*ab*', 'xabyab');
  no('*ab*ab*', 'xaby');
  yes('ab*ba', 'abba');
  no('ab*ba', 'aba');
  yes('*a?c*', 'zzabczz');
  yes('a*a', 'aa');
  no('a*a', 'a');
});

test('backslash makes the next character literal; a trailing backslash is itself', () => {
  yes('a\\*b', 'a*b');
  no('a\\*b', 'axb');
  yes('a\\?b', 'a?b');
  no('a\\?b', 'axb');
  yes('a\\\\b', 'a\\b');
  yes('a\\', 'a\\');
  yes('\\x', 'x');
  yes('*\\**', 'ab*cd');
  no('*\\**', 'abcd');
});

test('a near-miss of many stars is answered at once (no backtracking)', () => {
  const text = 'a'.repeat(10_000);
  no(`${'*a'.repeat(200)}b`, text); // the RegExp this replaced: longer than the age of the universe
  no(`${'*a'.repeat(200)}?b`, text);
});

test('agrees with the equivalent regular expression on short random patterns and texts', () => {
  let seed = 17;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  const pick = (alphabet: string, len: number) => Array.from({ length: len }, () => alphabet[rnd(alphabet.length)]).join('');
  for (let i = 0; i < 3000; i++) {
    const pattern = pick('ab*?\\', rnd(7));
    const text = pick('ab*?\\', rnd(7));
    let src = '';
    for (let j = 0; j < pattern.length; j++) {
      const c = pattern[j]!;
      const literal = (x: string) => (/[ab]/.test(x) ? x : `\\${x}`);
      if (c === '\\' && j + 1 < pattern.length) src += literal(pattern[++j]!);
      else src += c === '*' ? '[\\s\\S]*' : c === '?' ? '[\\s\\S]' : literal(c);
    }
    assert.equal(glob(pattern).test(text), new RegExp(`^${src}$`).test(text), `${pattern} on ${text}`);
  }
});
