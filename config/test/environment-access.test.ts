import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { scratchFolder } from './support.ts';

// "The API and every script load settings only through this library" (issue #3): their code never reads the
// environment itself. Only the library's own source readers do (config/src/load.ts, load-settings.ts,
// sources/), and they stay out of the folders checked here. Parsed, not grepped, so a comment or a string that
// mentions process.env is no finding and a destructured or imported `env` is one.

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHECKED = ['services/api/src', 'config/src/cli'];
const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;
const PROCESS_MODULES = new Set(['process', 'node:process']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((name) => SOURCE.test(name) && !name.endsWith('.d.ts'))
    .map((name) => join(dir, name))
    .sort();
}

const nameOf = (node: ts.Node | undefined) => (node && ts.isIdentifier(node) ? node.text : undefined);
const textOf = (node: ts.Node | undefined) =>
  node && (ts.isIdentifier(node) || ts.isStringLiteralLike(node)) ? node.text : undefined;

/** Each place in one file's code that reads the environment, as "line: what it does". */
function environmentReads(text: string, fileName: string): string[] {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  // `process` itself, and whatever name an import of the process module gives it.
  const processNames = new Set(['process']);
  const findings: string[] = [];
  const found = (node: ts.Node, what: string) => {
    const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
    findings.push(`${line + 1}: ${what}`);
  };
  const isProcess = (node: ts.Node): boolean =>
    processNames.has(nameOf(node) ?? '') ||
    (ts.isPropertyAccessExpression(node) && nameOf(node.expression) === 'globalThis' && node.name.text === 'process');

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && PROCESS_MODULES.has(textOf(node.moduleSpecifier) ?? '')) {
      const clause = node.importClause;
      if (clause?.name) processNames.add(clause.name.text);
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) processNames.add(bindings.name.text);
      if (bindings && ts.isNamedImports(bindings)) {
        for (const element of bindings.elements) {
          if ((element.propertyName ?? element.name).text === 'env')
            found(element, 'imports env from the process module');
        }
      }
    } else if (ts.isPropertyAccessExpression(node) && isProcess(node.expression)) {
      if (node.name.text === 'env') found(node, 'reads process.env');
      if (node.name.text === 'loadEnvFile') found(node, 'loads a .env file with process.loadEnvFile');
    } else if (ts.isElementAccessExpression(node) && isProcess(node.expression)) {
      if (textOf(node.argumentExpression) === 'env') found(node, 'reads process.env');
    } else if (ts.isVariableDeclaration(node) && ts.isObjectBindingPattern(node.name) && node.initializer) {
      if (isProcess(node.initializer)) {
        for (const element of node.name.elements) {
          if (textOf(element.propertyName ?? element.name) === 'env') found(element, 'destructures env from process');
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return findings;
}

/** Every direct read of the environment under the folders, as "path:line: what it does", paths from `root`. */
function environmentReadsUnder(root: string, dirs: readonly string[]): string[] {
  return dirs.flatMap((dir) =>
    sourceFiles(join(root, dir)).flatMap((path) =>
      environmentReads(readFileSync(path, 'utf8'), path).map((finding) => `${relative(root, path)}:${finding}`),
    ),
  );
}

describe('reading the environment', () => {
  it('should happen in the configuration library only, never in the API or a command', () => {
    const findings = environmentReadsUnder(REPO_ROOT, CHECKED);

    assert.deepEqual(findings, [], `load settings through @pdpl/config instead:\n${findings.join('\n')}`);
  });

  it('should check folders that hold code', () => {
    for (const dir of CHECKED) assert.ok(sourceFiles(join(REPO_ROOT, dir)).length > 0, `${dir} has no source`);
  });

  it('should name the file and line of every way a scratch copy reads the environment', () => {
    const scratch = scratchFolder('environment-access');
    mkdirSync(join(scratch.path, 'services/api/src/routes'), { recursive: true });
    mkdirSync(join(scratch.path, 'config/src/cli'), { recursive: true });
    scratch.file(
      'services/api/src/routes/leaky.ts',
      [
        "// process.env in a comment, and 'process.env' in a string, are not reads",
        "const note = 'process.env';",
        'const port = Number(process.env.PORT);',
        "const host = process['env'].HOST;",
        'const { env } = process;',
        'const { env: environment } = globalThis.process;',
        'process.loadEnvFile();',
        'export { note, port, host, env, environment };',
      ].join('\n'),
    );
    scratch.file(
      'config/src/cli/imports.mjs',
      [
        "import { env as vars } from 'node:process';",
        "import proc from 'process';",
        'console.log(vars.HOME, proc.env.HOME);',
      ].join('\n'),
    );
    scratch.file('config/src/cli/clean.ts', "import { loadSettings } from '@pdpl/config';\nawait loadSettings();\n");

    const findings = environmentReadsUnder(scratch.path, CHECKED);

    assert.deepEqual(findings, [
      'services/api/src/routes/leaky.ts:3: reads process.env',
      'services/api/src/routes/leaky.ts:4: reads process.env',
      'services/api/src/routes/leaky.ts:5: destructures env from process',
      'services/api/src/routes/leaky.ts:6: destructures env from process',
      'services/api/src/routes/leaky.ts:7: loads a .env file with process.loadEnvFile',
      'config/src/cli/imports.mjs:1: imports env from the process module',
      'config/src/cli/imports.mjs:3: reads process.env',
    ]);
  });
});
