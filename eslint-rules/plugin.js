// Local ESLint plugin `pawprint`: the folder layers of eslint-rules/layers.js and import loops.
// Specifier globs (no-restricted-imports) cannot do this: '../services/index' and '../../electron/services/index'
// name the same file, and a loop is a property of the whole graph. So each relative import is resolved to a file,
// both files are looked up in the one folder map, and the import graph of electron/ and shared/ is read once per
// lint run with TypeScript's import scanner (type-only imports, import('x'), import('x').T and require('x') included).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Minimatch } from 'minimatch';
import ts from 'typescript';
import { ELECTRON_ALLOWED, HOST_SIDE, KNOWN_VIOLATIONS, MODULES, PROCESS_ENTRIES, TFJS_FILES } from './layers.js';

const GRAPH_ROOTS = ['electron', 'shared'];

const compiled = new Map();
/** Whether a repository path matches one of the globs (each glob compiled once). */
function matches(rel, globs) {
  return globs.some((glob) => {
    if (!compiled.has(glob)) compiled.set(glob, new Minimatch(glob, { dot: true }));
    return compiled.get(glob).match(rel);
  });
}
const modules = new Map();
/** The module (entry of MODULES) a repository path belongs to, or null. */
export function moduleOf(rel) {
  if (!modules.has(rel)) modules.set(rel, MODULES.find((module) => matches(rel, module.files)) ?? null);
  return modules.get(rel);
}
const rootOf = (context) => context.settings?.pawprint?.root ?? context.cwd;
const toRel = (root, abs) => path.relative(root, abs).split(path.sep).join('/');
const known = (rule, file, target) => KNOWN_VIOLATIONS.some((v) => v.rule === rule && v.file === file && v.target === target);
const isElectron = (spec) => spec === 'electron' || spec.startsWith('electron/');

/** A relative specifier as a repository path, or null when it names no file (TypeScript reports those). */
export function resolveRelative(root, fromRel, spec) {
  const base = path.resolve(root, path.dirname(fromRel), spec);
  for (const candidate of [base, `${base}.ts`, base.replace(/\.js$/, '.ts'), path.join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return toRel(root, candidate);
  }
  return null;
}

/**
 * Every module specifier a TypeScript file names: imports (type-only too), re-exports, import(), import('x').T,
 * require() and `import x = require()`. TypeScript's pre-processing scanner finds them without building a syntax
 * tree (three times faster than a full parse), and skips comments and strings.
 */
export function specifiersOf(absFile) {
  return ts.preProcessFile(readFileSync(absFile, 'utf8'), true, true).importedFiles.map((file) => file.fileName);
}

/** What a repository file imports: repository paths for relative specifiers, package names for the rest. */
export function importTargetsOf(root, fileRel) {
  return specifiersOf(path.join(root, fileRel))
    .map((spec) => (spec.startsWith('.') ? resolveRelative(root, fileRel, spec) : spec))
    .filter((target) => target !== null);
}

function sourceFiles(root) {
  const files = [];
  for (const top of GRAPH_ROOTS) {
    const dir = path.join(root, top);
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (entry.isFile() && entry.name.endsWith('.ts')) files.push(toRel(root, path.join(entry.parentPath ?? entry.path, entry.name)));
    }
  }
  return files.sort();
}

/** Tarjan's algorithm: node -> component id, for components of more than one node only. */
function loopsOf(nodes, next) {
  let index = 0;
  const order = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const component = new Map();
  const connect = (v) => {
    order.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!order.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v), order.get(w)));
      }
    }
    if (low.get(v) !== order.get(v)) return;
    const members = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      members.push(w);
    } while (w !== v);
    if (members.length > 1) for (const member of members) component.set(member, v);
  };
  for (const v of nodes) if (!order.has(v)) connect(v);
  return component;
}

const graphs = new Map();
// Within one lint run the files do not change; a long-lived process (an editor) rebuilds when a file is added,
// removed or newer. Checking that costs a stat per file, so it is done at most once a second.
const RECHECK_MS = 1000;

/** The import graph of electron/ and shared/ with its file loops and module loops. */
export function graphOf(root) {
  const cached = graphs.get(root);
  if (cached && Date.now() - cached.checkedAt < RECHECK_MS) return cached;
  const files = sourceFiles(root);
  const stamp = `${files.length}:${Math.max(0, ...files.map((file) => statSync(path.join(root, file)).mtimeMs))}:${files.join('\n').length}`;
  if (cached?.stamp === stamp) {
    cached.checkedAt = Date.now();
    return cached;
  }
  const edges = new Map(files.map((file) => [file, importTargetsOf(root, file)]));
  const inGraph = (file) => edges.get(file).filter((target) => edges.has(target));
  const moduleEdges = new Map(MODULES.map((module) => [module.name, new Set()]));
  for (const [file, targets] of edges) {
    const from = moduleOf(file)?.name;
    for (const target of targets) {
      const to = edges.has(target) ? moduleOf(target)?.name : undefined;
      if (from && to && from !== to) moduleEdges.get(from).add(to);
    }
  }
  const graph = {
    stamp,
    checkedAt: Date.now(),
    inGraph,
    edges,
    fileLoops: loopsOf(files, inGraph),
    moduleEdges,
    moduleLoops: loopsOf(MODULES.map((module) => module.name), (name) => [...moduleEdges.get(name)]),
  };
  graphs.set(root, graph);
  return graph;
}

/** Shortest route start -> goal through `next`, both ends included. */
function route(start, goal, next) {
  const previous = new Map([[start, null]]);
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift();
    if (v === goal) break;
    for (const w of next(v)) {
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  const out = [];
  for (let v = goal; v !== null && v !== undefined; v = previous.get(v)) out.unshift(v);
  return out;
}

/** ESLint visitors calling check(node, specifier) for every import form in the file being linted. */
function importVisitors(check) {
  const literal = (node) => (node && node.type === 'Literal' && typeof node.value === 'string' ? node.value : null);
  return {
    ImportDeclaration: (node) => check(node, literal(node.source)),
    ExportNamedDeclaration: (node) => node.source && check(node, literal(node.source)),
    ExportAllDeclaration: (node) => check(node, literal(node.source)),
    ImportExpression: (node) => check(node, literal(node.source)),
    TSImportType: (node) => check(node, literal(node.argument?.literal ?? node.argument)),
    TSExternalModuleReference: (node) => check(node, literal(node.expression)),
    'CallExpression[callee.type="Identifier"][callee.name="require"]': (node) => check(node, literal(node.arguments[0])),
  };
}

const layers = {
  meta: {
    type: 'problem',
    docs: { description: 'A folder imports only the folders below it (eslint-rules/layers.js).' },
    schema: [],
    messages: {
      layer: '{{from}} may not import {{to}} ({{target}}): {{from}} imports only {{allowed}}. See README "Layout" and eslint-rules/layers.js.',
      electron: "Only main.ts, preload.ts, desktop/, host/electron-ipc.ts and the worker launcher import 'electron'; pass what you need in from there.",
      entry: '{{target}} is a process entry: start it by path from its launcher, never import it.',
      unmapped: '{{file}} is in no layer: add its folder to MODULES in eslint-rules/layers.js (and to the README "Layout" paragraph).',
    },
  },
  create(context) {
    const root = rootOf(context);
    const from = toRel(root, context.filename);
    const module = moduleOf(from);
    if (!module) {
      if (!GRAPH_ROOTS.some((top) => from.startsWith(`${top}/`))) return {};
      return { Program: (node) => context.report({ node, messageId: 'unmapped', data: { file: from } }) };
    }
    return importVisitors((node, spec) => {
      if (!spec) return;
      if (isElectron(spec)) {
        if (!matches(from, ELECTRON_ALLOWED) && !known('layers', from, 'electron')) context.report({ node, messageId: 'electron' });
        return;
      }
      if (!spec.startsWith('.')) return;
      const target = resolveRelative(root, from, spec);
      if (!target) return;
      if (matches(target, PROCESS_ENTRIES)) {
        if (!known('layers', from, target)) context.report({ node, messageId: 'entry', data: { target } });
        return;
      }
      const to = moduleOf(target);
      if (!to || to.name === module.name || module.imports.includes(to.name) || known('layers', from, target)) return;
      context.report({
        node,
        messageId: 'layer',
        data: { from: module.name, to: to.name, target, allowed: module.imports.join(', ') || 'nothing' },
      });
    });
  },
};

const noImportCycles = {
  meta: {
    type: 'problem',
    docs: { description: 'No import loops between folders, nor between files.' },
    schema: [],
    messages: {
      file: 'Import loop: {{loop}}. Move what both need into a third file they both import.',
      module: 'Module loop {{loop}} (through {{from}} -> {{target}}). Move what both need into a lower module.',
    },
  },
  create(context) {
    const root = rootOf(context);
    const from = toRel(root, context.filename);
    const graph = graphOf(root);
    if (!graph.edges.has(from)) return {};
    return importVisitors((node, spec) => {
      if (!spec?.startsWith('.')) return;
      const target = resolveRelative(root, from, spec);
      if (!target || !graph.edges.has(target) || known('no-import-cycles', from, target)) return;
      const a = moduleOf(from)?.name;
      const b = moduleOf(target)?.name;
      if (a && b && a !== b && graph.moduleLoops.has(a) && graph.moduleLoops.get(a) === graph.moduleLoops.get(b)) {
        const loop = [a, ...route(b, a, (name) => [...graph.moduleEdges.get(name)])].join(' -> ');
        context.report({ node, messageId: 'module', data: { loop, from, target } });
      } else if (graph.fileLoops.has(from) && graph.fileLoops.get(from) === graph.fileLoops.get(target)) {
        context.report({ node, messageId: 'file', data: { loop: [from, ...route(target, from, graph.inGraph)].join(' -> ') } });
      }
    });
  },
};

/**
 * The value imports of a file (what runs when it is loaded, at once or through import()): type-only imports and
 * re-exports, `import('x').T` types and imports whose every name is a type are left out, as the compiler erases them.
 */
export function valueImportsOf(absFile) {
  const source = ts.createSourceFile(absFile, readFileSync(absFile, 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out = [];
  const text = (node) => (node && ts.isStringLiteralLike(node) ? node.text : null);
  const visit = (node) => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const onlyTypes = clause !== undefined && (clause.isTypeOnly
        || (!clause.name && named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)));
      if (!onlyTypes) out.push(text(node.moduleSpecifier));
    } else if (ts.isExportDeclaration(node)) {
      if (node.moduleSpecifier && !node.isTypeOnly) out.push(text(node.moduleSpecifier));
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) out.push(text(node.arguments[0]));
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && !node.isTypeOnly) {
      out.push(text(node.moduleReference.expression));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out.filter((spec) => spec !== null);
}

const tfRoutes = new Map();
/** The shortest value-import route from a repository file to TensorFlow.js, or null when it never loads it. */
export function tfjsRouteFrom(root, fileRel) {
  let cache = tfRoutes.get(root);
  if (!cache || Date.now() - cache.at > RECHECK_MS) {
    cache = { at: Date.now(), imports: new Map() };
    tfRoutes.set(root, cache);
  }
  const importsOf = (file) => {
    if (!cache.imports.has(file)) {
      cache.imports.set(file, valueImportsOf(path.join(root, file)).map((spec) => (spec.startsWith('.') ? resolveRelative(root, file, spec) : spec)).filter((t) => t !== null));
    }
    return cache.imports.get(file);
  };
  const isTf = (target) => target.startsWith('@tensorflow/') || matches(target, TFJS_FILES);
  const previous = new Map([[fileRel, null]]);
  const queue = [fileRel];
  while (queue.length > 0) {
    const file = queue.shift();
    if (isTf(file)) {
      const out = [];
      for (let v = file; v !== null; v = previous.get(v)) out.unshift(v);
      return out;
    }
    if (!file.endsWith('.ts')) continue;
    for (const target of importsOf(file)) {
      if (!previous.has(target) && (target.endsWith('.ts') || isTf(target))) {
        previous.set(target, file);
        queue.push(target);
      }
    }
  }
  return null;
}

const noTfjsInHost = {
  meta: {
    type: 'problem',
    docs: { description: 'Code of the main, host and CLI processes never loads TensorFlow.js (models run in job workers).' },
    schema: [],
    messages: {
      tfjs: 'This loads TensorFlow.js in the host process ({{route}}). Run it as a worker task (electron/jobs/worker/tasks.ts), import only types from there (import type), or move the pure part to a tf-free file.',
    },
  },
  create(context) {
    const root = rootOf(context);
    const from = toRel(root, context.filename);
    if (!matches(from, HOST_SIDE) || matches(from, PROCESS_ENTRIES)) return {};
    const check = (node, spec) => {
      if (!spec) return;
      const target = spec.startsWith('.') ? resolveRelative(root, from, spec) : spec;
      if (!target) return;
      const route = target.startsWith('@tensorflow/') || matches(target, TFJS_FILES) ? [target] : target.endsWith('.ts') ? tfjsRouteFrom(root, target) : null;
      if (route && !known('no-tfjs-in-host', from, target)) context.report({ node, messageId: 'tfjs', data: { route: [from, ...route].join(' -> ') } });
    };
    const typeOnly = (node) => node.importKind === 'type' || node.exportKind === 'type'
      || (node.type === 'ImportDeclaration' && node.specifiers.length > 0 && node.specifiers.every((s) => s.type === 'ImportSpecifier' && s.importKind === 'type'));
    const visitors = importVisitors((node, spec) => (typeOnly(node) ? undefined : check(node, spec)));
    delete visitors.TSImportType;
    return visitors;
  },
};

export default { meta: { name: 'pawprint' }, rules: { layers, 'no-import-cycles': noImportCycles, 'no-tfjs-in-host': noTfjsInHost } };
