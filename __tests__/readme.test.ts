/**
 * Every TypeScript and JavaScript code block of README.md type-checks as a user would paste it, against the
 * built package (`npm test` builds it first), under `module: nodenext`:
 *
 * - a `ts` block as an ES module (`.mts`) and as CommonJS (`.cts`), unless it uses top-level `await`, which
 *   only ES modules have (the quick start has a CommonJS form for that);
 * - a `js` block (checkJs) as CommonJS (`.cjs`) when it calls `require`, else as an ES module (`.mjs`);
 * - a block that imports `ioredis` or `redis` once more against each other major the peer ranges accept
 *   (ioredis 6, node-redis 5 and 6, installed under aliases);
 * - a block that imports the client @hey-api/openapi-ts generates (`./apiture`) as an ES module under
 *   `moduleResolution: bundler`: that client's default output (imports without extensions) compiles as an ES
 *   module only there, so that is where its users are.
 *
 * A block may use names that the text around it introduces (`tokens`, `baseURL`, an earlier block's imports):
 * those, and only those, come from `CONTEXT` below, added in front of the block when the block uses them
 * without defining them. Any other name a block uses but does not define fails the test.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const root = join(__dirname, '..');
/** Where the blocks pretend to live: a folder of this package, so that the package's own name resolves to it. */
const home = join(root, '__tests__', 'fixtures', 'readme');
/** What `./apiture` is in the README: the client @hey-api/openapi-ts generated (examples/apiture/client). */
const apiture = join(root, 'examples', 'apiture', 'client');

/** Names the README's prose and earlier blocks give a block, and where each comes from. */
const CONTEXT: Record<string, string> = {
  axios: "import axios from 'axios';",
  axiosRetry: "import axiosRetry from 'axios-retry';",
  attachAuth: "import { attachAuth } from 'axios-client-credentials';",
  ClientCredentialsProvider: "import { ClientCredentialsProvider } from 'axios-client-credentials';",
  PermissionError: "import { PermissionError } from 'axios-client-credentials';",
  randomUUID: "import { randomUUID } from 'node:crypto';",
  createTransfer: "import { createTransfer } from './apiture';",
  tokens: "declare const tokens: import('axios-client-credentials').ClientCredentialsProvider;",
  options: "declare const options: import('axios-client-credentials').ClientCredentialsOptions;",
  client: "declare const client: import('./apiture/client').Client;",
  achTransfer: "declare const achTransfer: import('./apiture').NewTransfer;",
  baseURL: 'declare const baseURL: string;',
  clientId: 'declare const clientId: string;',
  clientSecret: 'declare const clientSecret: string;',
  apiKey: 'declare const apiKey: string;',
  logger: 'declare const logger: { info(message: string): void; warn(message: string): void };',
};

interface Block {
  /** 1-based line of the opening fence. */
  line: number;
  lang: 'ts' | 'js';
  code: string;
}

function readmeBlocks(): Block[] {
  const blocks: Block[] = [];
  const lines = readFileSync(join(root, 'README.md'), 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && /^\s*```\s*$/.test(l));
    if (end < 0) throw new Error(`README.md line ${i + 1}: unclosed code fence`);
    const lang = { ts: 'ts', typescript: 'ts', js: 'js', javascript: 'js' }[open[2]!] as Block['lang'] | undefined;
    if (lang)
      blocks.push({
        line: i + 1,
        lang,
        code:
          lines
            .slice(i + 1, end)
            .map((l) => l.slice(open[1]!.length))
            .join('\n') + '\n',
      });
    i = end;
  }
  return blocks;
}

/** `bundler`: an ES module under `moduleResolution: bundler`. */
type Mode = 'esm' | 'cjs' | 'bundler';

/** Whether the block uses the generated Apiture client, directly or through a CONTEXT name. */
const usesGeneratedClient = (code: string) => /from '\.\/apiture|\bcreateTransfer\(|\bachTransfer\b/.test(code);

/** Whether the block has an `await` outside any function (top-level await). */
function hasTopLevelAwait(code: string): boolean {
  const source = ts.createSourceFile('block.mts', code, ts.ScriptTarget.ES2022, true);
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found || ts.isFunctionLike(node) || ts.isClassLike(node)) return;
    if (ts.isAwaitExpression(node) || (ts.isForOfStatement(node) && node.awaitModifier)) found = true;
    else ts.forEachChild(node, visit);
  };
  ts.forEachChild(source, visit);
  return found;
}

function modesOf(block: Block): Mode[] {
  if (block.lang === 'js') return [/\brequire\(/.test(block.code) ? 'cjs' : 'esm'];
  const esm: Mode = usesGeneratedClient(block.code) ? 'bundler' : 'esm';
  return hasTopLevelAwait(block.code) ? [esm] : [esm, 'cjs'];
}

/**
 * The type entry of a package installed under an alias. Mapped as a file: an ES module cannot import a
 * folder, so a `paths` entry naming the folder would be skipped in ES module resolution.
 */
function typesOf(alias: string): string[] {
  const manifest = JSON.parse(readFileSync(join(root, 'node_modules', alias, 'package.json'), 'utf8')) as {
    types?: string;
    typings?: string;
  };
  return [join(root, 'node_modules', alias, manifest.types ?? manifest.typings ?? 'index.d.ts')];
}

/** Peer majors a block is checked against, beyond the default install (ioredis 5, node-redis 4). */
function peerVariantsOf(block: Block): { name: string; paths: Record<string, string[]> }[] {
  const variants = [{ name: '', paths: {} }];
  if (/from ['"]ioredis['"]/.test(block.code))
    variants.push({ name: 'ioredis 6', paths: { ioredis: typesOf('ioredis-6') } });
  if (/from ['"]redis['"]/.test(block.code)) {
    variants.push({ name: 'redis 5', paths: { redis: typesOf('redis-5') } });
    variants.push({ name: 'redis 6', paths: { redis: typesOf('redis-6') } });
  }
  return variants;
}

const extension = (block: Block, mode: Mode) => ({ esm: '.m', cjs: '.c', bundler: '.' })[mode] + block.lang;

/** Files from disk, parsed once for every program (TypeScript's lib, @types/node, axios, the built package). */
const parsed = new Map<string, ts.SourceFile | undefined>();

interface Case {
  title: string;
  block: Block;
  mode: Mode;
  paths: Record<string, string[]>;
  fileName: string;
}

/**
 * Type-checks blocks that share a module system and peer versions in one program, each block its own file;
 * the program's other files come from disk. Returns, per file, the errors in the block itself (with README
 * line numbers), after adding the CONTEXT entries for names the block uses without defining them.
 */
function checkAll(group: Case[]): Map<string, string[]> {
  const { paths, block, mode } = group[0]!;
  const options: ts.CompilerOptions = {
    module: mode === 'bundler' ? ts.ModuleKind.Preserve : ts.ModuleKind.NodeNext,
    moduleResolution: mode === 'bundler' ? ts.ModuleResolutionKind.Bundler : ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts'],
    types: ['node'],
    typeRoots: [join(root, 'node_modules/@types')],
    // TypeScript users' usual strictness; a JavaScript block is checked as an editor checks plain JavaScript.
    strict: block.lang === 'ts',
    exactOptionalPropertyTypes: block.lang === 'ts',
    noEmit: true,
    skipLibCheck: true,
    allowJs: true,
    checkJs: true,
    esModuleInterop: true,
    paths,
  };
  const texts = new Map(group.map((c) => [c.fileName, c.block.code]));
  const preludes = new Map<string, string[]>();
  const host = ts.createCompilerHost(options, true);
  const mapped = (path: string) =>
    path.startsWith(join(home, 'apiture')) ? apiture + path.slice(join(home, 'apiture').length) : path;
  const { fileExists, readFile, getSourceFile, directoryExists } = host;
  host.fileExists = (path) => texts.has(path) || fileExists.call(host, mapped(path));
  host.readFile = (path) => texts.get(path) ?? readFile.call(host, mapped(path));
  host.directoryExists = (path) =>
    path === home || path.startsWith(home + '/') || (directoryExists?.call(host, mapped(path)) ?? true);
  host.getSourceFile = (path, language, ...rest) => {
    const text = texts.get(path);
    if (text !== undefined) return ts.createSourceFile(path, text, language, true);
    const key = `${JSON.stringify(language)} ${mapped(path)}`;
    if (!parsed.has(key)) parsed.set(key, getSourceFile.call(host, mapped(path), language, ...rest));
    return parsed.get(key);
  };
  const diagnosticsOf = (program: ts.Program, fileName: string) => {
    const file = program.getSourceFile(fileName)!;
    return [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
  };

  let program = ts.createProgram(
    group.map((c) => c.fileName),
    options,
    host,
  );
  const results = new Map<string, string[]>();
  for (const { fileName } of group) {
    const missing = new Set<string>();
    for (const d of diagnosticsOf(program, fileName)) {
      // Cannot find name 'x' / Did you mean / No value exists in scope for the shorthand property 'x'
      if (d.code !== 2304 && d.code !== 2552 && d.code !== 18004) continue;
      const name = /'([^']+)'/.exec(ts.flattenDiagnosticMessageText(d.messageText, '\n'))?.[1];
      if (name) missing.add(name);
    }
    const unknown = [...missing].filter((name) => !(name in CONTEXT));
    if (unknown.length)
      results.set(fileName, [
        `uses ${unknown.join(', ')}, which neither the block nor the README's context (CONTEXT in this test) defines`,
      ]);
    else if (missing.size)
      preludes.set(
        fileName,
        [...missing].map((name) => CONTEXT[name]!),
      );
  }
  if (preludes.size) {
    for (const [fileName, prelude] of preludes) texts.set(fileName, prelude.join('\n') + '\n' + texts.get(fileName)!);
    program = ts.createProgram(
      group.map((c) => c.fileName),
      options,
      host,
      program,
    );
  }
  for (const { fileName, block } of group) {
    if (results.has(fileName)) continue;
    const preludeLines = preludes.get(fileName)?.length ?? 0;
    results.set(
      fileName,
      diagnosticsOf(program, fileName).map((d) => {
        const line =
          d.file && d.start !== undefined
            ? d.file.getLineAndCharacterOfPosition(d.start).line - preludeLines
            : undefined;
        const where =
          line === undefined
            ? ''
            : line < 0
              ? ' (in the added context)'
              : ` at README.md line ${block.line + 1 + line}`;
        return `TS${d.code}${where}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
      }),
    );
  }
  return results;
}

const blocks = readmeBlocks();
const cases: Case[] = blocks.flatMap((block) =>
  modesOf(block).flatMap((mode) =>
    peerVariantsOf(block).map((variant) => ({
      title: `README.md line ${block.line} (${block.lang}, ${{ esm: 'ES module', cjs: 'CommonJS', bundler: 'ES module, bundler' }[mode]}${variant.name ? `, ${variant.name}` : ''})`,
      block,
      mode,
      paths: variant.paths,
      fileName: join(home, `readme-line-${block.line}${extension(block, mode)}`),
    })),
  ),
);

/** Errors per case, computed once per group of cases that can share a program (same language, peers, resolution). */
const results = new Map<Case, string[]>();
const groupKey = (c: Case) => JSON.stringify([c.block.lang, c.mode === 'bundler', c.paths]);
function errorsOf(c: Case): string[] {
  if (!results.has(c)) {
    const group = cases.filter((other) => groupKey(other) === groupKey(c));
    const byFile = checkAll(group);
    for (const other of group) results.set(other, byFile.get(other.fileName)!);
  }
  return results.get(c)!;
}

describe('README.md code blocks', () => {
  test('include the quick start in both module systems and the Redis set-up for both clients', () => {
    const byMode = (mode: Mode) => cases.filter((c) => c.mode === mode).map((c) => c.block.code);
    const quickStart = (code: string) =>
      /new ClientCredentialsProvider\(/.test(code) && /attachAuth\(api, tokens\)/.test(code) && /api\.get\(/.test(code);
    expect(byMode('esm').some(quickStart)).toBe(true);
    expect(byMode('cjs').some(quickStart)).toBe(true);
    expect(blocks.some((b) => /from 'ioredis'/.test(b.code) && /redisStore\(/.test(b.code))).toBe(true);
    expect(blocks.some((b) => /from 'redis'/.test(b.code) && /redisStore\(/.test(b.code))).toBe(true);
  });

  test.each(cases)('$title type-checks as pasted', (c) => {
    expect(errorsOf(c)).toEqual([]);
  });
});
