/**
 * The import order of Kiln's layers (docs/architecture.md), checked over every
 * import line in src/: a back-import fails the suite instead of waiting for a review.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = dirname(fileURLToPath(import.meta.url));

/** What each top-level folder of src/ may import besides itself. */
export const LAYERS: Record<string, string[]> = {
  lib: [],
  model: [],
  runtime: ['lib', 'model'],
  blocks: ['lib', 'model'],
  store: ['lib', 'model', 'blocks'],
  services: ['lib', 'model', 'store', 'blocks', 'runtime'],
  catalog: ['lib', 'model', 'services', 'blocks'],
  protocol: ['lib'],
  api: ['lib', 'model', 'services', 'protocol'],
  server: ['lib', 'model', 'api', 'protocol', 'services', 'catalog', 'store', 'blocks', 'runtime'],
  cli: ['lib', 'model', 'server', 'runtime'],
};

/** services/: each domain folder may import only folders before it in this list (and itself). */
export const SERVICE_ORDER = ['core', 'network', 'accounts', 'keys', 'marketplace', 'volumes', 'snapshots', 'images', 'instances', 'tags', 'templates', 'scaling'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'/gms)].map((m) => m[1]!);
}

/**
 * Every import that runs against the order, as "from -> to: why". Tests
 * (*.test.ts) are exempt: they assemble whole servers to test one part.
 */
export function violations(files: Array<{ file: string; specs: string[] }>): string[] {
  const out: string[] = [];
  for (const { file, specs } of files) {
    const from = relative(SRC, file).split('/');
    for (const spec of specs) {
      const to = relative(SRC, resolve(dirname(file), spec)).split('/');
      const [fl, tl] = [from[0]!, to[0]!];
      const why = (reason: string) => out.push(`${from.join('/')} -> ${to.join('/')}: ${reason}`);
      if (fl !== tl) {
        if (!LAYERS[fl]) why(`unknown layer ${fl}`);
        else if (!LAYERS[fl]!.includes(tl)) why(`${fl} may not import ${tl}`);
        continue;
      }
      if (fl === 'services' && from.length > 2 && to.length > 2 && from[1] !== to[1]) {
        const [a, b] = [SERVICE_ORDER.indexOf(from[1]!), SERVICE_ORDER.indexOf(to[1]!)];
        if (a < 0 || b < 0) why(`services/${a < 0 ? from[1] : to[1]} is not in SERVICE_ORDER`);
        else if (b > a) why(`services/${from[1]} may not import services/${to[1]}`);
      }
      if (fl === 'api' && from[1] === 'handlers' && to[1] === 'handlers') why('a handler imports views, never another handler');
      if (fl === 'api' && from[1] === 'views' && to[1] === 'handlers') why('views may not import handlers');
    }
  }
  return out;
}

test('every import in src/ follows the layer order', () => {
  const files = sources(SRC).filter((f) => !f.endsWith('.test.ts') && dirname(f) !== SRC);
  assert.deepEqual(violations(files.map((file) => ({ file, specs: imports(file) }))), []);
});

test('the check catches back-imports', () => {
  const found = violations([
    { file: join(SRC, 'store', 'x.ts'), specs: ['../services/core/context.js', '../model/records.js'] },
    { file: join(SRC, 'api', 'handlers', 'x.ts'), specs: ['./instances.js', '../views/instances.js'] },
    { file: join(SRC, 'services', 'volumes', 'x.ts'), specs: ['../images/images.js', '../core/errors.js'] },
    { file: join(SRC, 'api', 'errors.ts'), specs: ['../server/sigv4.js'] },
  ]);
  assert.equal(found.length, 4, found.join('\n'));
});

/** Handlers that call more than one service function (`name(ctx, ...)`), or reach past the services to the store, runtime or locks. */
export function fatHandlers(file: string, text: string): string[] {
  const services = new Set<string>();
  for (const m of text.matchAll(/^import \{([^}]*)\} from '\.\.\/\.\.\/services\/[^']+';/gm)) {
    for (const n of m[1]!.split(',')) if (n.trim()) services.add(n.trim().split(/\s+as\s+/).at(-1)!);
  }
  // Every top-level declaration (handlers and the helpers beside them) with its body.
  const decls = new Map<string, string>();
  for (const part of text.split(/\n(?=(?:export )?(?:const|function|async function) \w+)/)) {
    const m = /^(?:export )?(?:const|function|async function) (\w+)/.exec(part);
    if (m) decls.set(m[1]!, part.split('\nexport const HANDLERS')[0]!);
  }
  // What a declaration calls: services directly (anything given the context), and through the helpers it calls.
  const callsOf = (name: string, seen = new Set<string>()): Set<string> => {
    const body = decls.get(name) ?? '';
    const out = new Set([...services].filter((n) => new RegExp(`\\b${n}\\(ctx\\b`).test(body)));
    seen.add(name);
    for (const helper of decls.keys()) {
      if (!seen.has(helper) && new RegExp(`\\b${helper}\\(`).test(body.slice(body.indexOf('=') + 1))) for (const c of callsOf(helper, seen)) out.add(c);
    }
    return out;
  };
  const out: string[] = [];
  for (const [name, body] of decls) {
    if (/\bctx\.(store|runtime|locks|blocks|tasks)\b|\{[^}]*\b(store|runtime|locks)\b[^}]*\}\s*=\s*ctx\b/.test(body)) out.push(`${file} ${name} reaches ctx internals`);
    if (!/^export const \w+: Handler/.test(body)) continue;
    const called = [...callsOf(name)];
    if (called.length > 1) out.push(`${file} ${name} calls ${called.join(', ')}`);
  }
  return out;
}

test('each handler makes one service call and never touches the store itself', () => {
  const dir = join(SRC, 'api', 'handlers');
  const found = readdirSync(dir).filter((f) => f.endsWith('.ts')).flatMap((f) => fatHandlers(f, readFileSync(join(dir, f), 'utf8')));
  assert.deepEqual(found, []);
  assert.equal(fatHandlers('x.ts', "import { a, b } from '../../services/x/y.js';\nexport const h: Handler = async (ctx) => { await a(ctx); await b(ctx); };\n").length, 1);
  // Through a helper beside the handlers, too; and reaching the store there.
  const viaHelper = "import { a, b } from '../../services/x/y.js';\nasync function one(ctx) { return a(ctx); }\nfunction peek(ctx) { return ctx.store.images; }\n"
    + "export const h: Handler = async (ctx) => { await one(ctx); await b(ctx); };\n";
  assert.deepEqual(fatHandlers('x.ts', viaHelper).map((f) => f.split(' ').slice(1, 3).join(' ')), ['peek reaches', 'h calls']);
});

test('source files stay under ~400 lines', () => {
  const long = sources(SRC).filter((f) => !f.endsWith('.test.ts'))
    .map((f) => [relative(SRC, f), readFileSync(f, 'utf8').split('\n').length] as const).filter(([, n]) => n > 400);
  assert.deepEqual(long, []);
});
