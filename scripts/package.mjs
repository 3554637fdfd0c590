// npm run package (after npm run build): daprup as one executable for linux-x64 that needs no Node on the machine,
// built with Node's single-executable-application support:
//   1. esbuild bundles the compiled CLI (dist/), its dependencies and the oclif plugins of package.json into one
//      CommonJS script (a SEA's main script is CommonJS and can require only Node's built-in modules), with each
//      plugin's package.json and oclif manifest as data; src/cli/standalone.ts hands them to oclif;
//   2. the pinned Node (node_modules/node, the `node` devDependency) makes the preparation blob, with V8's code cache;
//   3. postject injects the blob into a copy of that same node binary (its symbol table stripped when `strip` is
//      there: 18 MiB that only a debugger of Node itself reads);
//   4. release/daprup-linux-x64 and release/daprup-linux-x64.sha256 (`sha256sum -c` format).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const pjson = readJson(join(root, 'package.json'));
const target = `${pjson.oclif.bin}-linux-x64`;
const out = join(root, 'release', target);
// The sentinel Node's binary carries for a single-executable blob (Node's docs, "Single executable applications").
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

if (`${process.platform}-${process.arch}` !== 'linux-x64')
  throw new Error(`npm run package builds for linux-x64, and this is ${process.platform}-${process.arch}.`);
if (!existsSync(join(root, 'oclif.manifest.json')))
  throw new Error('oclif.manifest.json is missing: run `npm run build` first (npm run package does).');

// The runtime: the node binary of the pinned `node` devDependency, whatever node runs this script.
const node = realpathSync(join(root, 'node_modules', 'node', 'bin', 'node'));
const nodeVersion = execFileSync(node, ['--version']).toString().trim();
if (nodeVersion !== `v${pjson.devDependencies.node}`)
  throw new Error(`${node} is Node ${nodeVersion}, not the pinned ${pjson.devDependencies.node}: run npm ci.`);

const work = mkdtempSync(join(tmpdir(), 'daprup-package-'));
try {
  const bundle = join(work, 'daprup.cjs');
  await build({
    stdin: { contents: entrySource(), resolveDir: root, sourcefile: 'standalone-entry.js', loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${nodeVersion.slice(1)}`,
    outfile: bundle,
    // Class and function names as in the npm package (error names, stack traces).
    keepNames: true,
    // A require() or import() esbuild cannot follow is a warning in daprup's own code. In dependencies esbuild
    // leaves them be: those are oclif's loaders (a bundled help class is served by standalone.ts; a package.json
    // or TypeScript lookup fails, and oclif catches it) and lilconfig's, which daprup never reaches.
    logLevel: 'warning',
    plugins: [sourceRequire()],
  });
  const blob = join(work, 'sea-prep.blob');
  writeFileSync(
    join(work, 'sea-config.json'),
    JSON.stringify({
      main: bundle,
      output: blob,
      disableExperimentalSEAWarning: true,
      // V8's compiled code for the bundle, made now: the executable does not compile megabytes of JavaScript at each start.
      // Not "useSnapshot": modules read the terminal and the environment as they load (colour support, home
      // directory), and a snapshot would keep the build machine's.
      useCodeCache: true,
    }),
  );
  execFileSync(node, ['--experimental-sea-config', join(work, 'sea-config.json')], { stdio: 'pipe' });

  mkdirSync(join(root, 'release'), { recursive: true });
  rmSync(out, { force: true });
  copyFileSync(node, out);
  chmodSync(out, 0o755);
  const stripped = strip(out);
  inject(out, blob);

  const version = execFileSync(out, ['--version'], { env: { PATH: '/usr/bin:/bin' } })
    .toString()
    .trim();
  const expected = `${pjson.name}/${pjson.version} linux-x64 node-${nodeVersion}`;
  if (version !== expected) throw new Error(`${out} --version printed "${version}", expected "${expected}".`);

  const sha256 = createHash('sha256').update(readFileSync(out)).digest('hex');
  writeFileSync(`${out}.sha256`, `${sha256}  ${target}\n`);
  const mib = (statSync(out).size / 2 ** 20).toFixed(1);
  console.log(
    `${relative(root, out)}: ${mib} MiB (Node ${nodeVersion}${stripped ? ', symbols stripped' : ', `strip` not found: symbols kept'}, bundle ${(statSync(bundle).size / 2 ** 20).toFixed(1)} MiB)`,
  );
  console.log(`${relative(root, out)}.sha256: ${sha256}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

/**
 * The bundle's entry: every plugin (daprup first, then package.json oclif.plugins) with its package.json, its
 * manifest and its command classes, the modules package.json names (helpClass), and oclif's module loader.
 */
function entrySource() {
  const lines = [`import { runStandalone } from ${str(join(root, 'dist', 'src', 'cli', 'standalone.js'))};`];
  const plugins = [];
  let n = 0;
  const importAll = (file) => {
    const name = `m${n++}`;
    lines.push(`import * as ${name} from ${str(file)};`);
    return name;
  };
  const plugin = (dir, isRoot) => {
    const p = readJson(join(dir, 'package.json'));
    const manifestFile = join(dir, 'oclif.manifest.json');
    if (!existsSync(manifestFile)) throw new Error(`${p.name} has no oclif.manifest.json to bundle.`);
    const manifest = readJson(manifestFile);
    for (const event of Object.keys(p.oclif?.hooks ?? {})) {
      // Hooks that only `plugins install/uninstall` fires (plugin-plugins, which daprup does not have) are dropped.
      if (!event.startsWith('plugins:'))
        throw new Error(`${p.name} has a "${event}" hook: the executable does not load hooks (src/cli/standalone.ts).`);
    }
    if (p.oclif?.plugins?.length && !isRoot) throw new Error(`${p.name} has plugins of its own: the executable does not bundle those.`);
    const discovery = p.oclif?.commands;
    let commands;
    if (typeof discovery === 'object' && discovery.strategy === 'explicit') {
      commands = `${importAll(join(dir, discovery.target))}[${str(discovery.identifier ?? 'default')}]`;
    } else {
      // Pattern discovery: the manifest names each command's file.
      const entries = Object.values(manifest.commands).map((c) => {
        if (!c.relativePath) throw new Error(`${p.name}'s manifest has no file for ${c.id}.`);
        return `${str(c.id)}: commandClass(${importAll(join(dir, ...c.relativePath))})`;
      });
      commands = `{ ${entries.join(', ')} }`;
    }
    plugins.push(
      `{ pjson: JSON.parse(${str(JSON.stringify(p))}), manifest: JSON.parse(${str(JSON.stringify(manifest))}), commands: ${commands} }`,
    );
    return p;
  };
  plugin(root, true);
  for (const name of pjson.oclif.plugins ?? []) {
    if (!pjson.dependencies?.[name]) throw new Error(`oclif plugin ${name} is not in dependencies.`);
    plugin(join(root, 'node_modules', ...name.split('/')), false);
  }
  const modules = [];
  const helpClass = pjson.oclif.helpClass;
  if (helpClass) {
    const file = typeof helpClass === 'string' ? helpClass : helpClass.target;
    modules.push(`${str(posix.normalize(file))}: ${importAll(join(root, file))}`);
  }
  // The same module object oclif's help and hook loading call (package exports do not name it: its file path).
  const loader = require.resolve('@oclif/core').replace(/index\.js$/, 'module-loader.js');
  return [
    ...lines,
    // As oclif finds the command class in a command file: the default export, else the first export with run().
    'function commandClass(m) { return typeof m.default?.run === "function" ? m.default : Object.values(m).find((c) => typeof c?.run === "function"); }',
    `runStandalone({ plugins: [${plugins.join(', ')}], modules: { ${modules.join(', ')} }, moduleLoader: require(${str(loader)}) });`,
  ].join('\n');
}

/**
 * src/ui/render.ts loads cli-table3 only when a table needs it, through createRequire(import.meta.url): in the
 * bundle that is a plain require(), which esbuild resolves and bundles.
 */
function sourceRequire() {
  return {
    name: 'create-require',
    setup(b) {
      b.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        if (!source.includes('createRequire(import.meta.url)(')) return undefined;
        return { contents: source.replaceAll('createRequire(import.meta.url)(', 'require('), loader: 'js' };
      });
    },
  };
}

/**
 * postject's CLI (a child process, so that its ELF library's complaints are read, not printed; stdout is progress
 * only): Node's binary has
 * hundreds of .note sections, and LIEF says "Can't find string offset for section name '.note…'" for each; the
 * injection is unaffected (the executable is run right after). Anything else it says is shown.
 */
function inject(file, blob) {
  const postject = join(dirname(require.resolve('postject')), 'cli.js');
  const r = spawnSync(node, [postject, file, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], { encoding: 'utf8' });
  const said = r.stderr.split('\n').filter((l) => l.trim() && !/Can't find string offset for section name '\.note/.test(l));
  if (r.status !== 0) throw new Error(`postject failed (exit ${r.status}):\n${r.stdout}${said.join('\n')}`);
  if (said.length) console.log(said.join('\n'));
}

function strip(file) {
  try {
    execFileSync('strip', [file], { stdio: 'ignore' });
    return true;
  } catch (err) {
    if (err.code === 'ENOENT') return false;
    throw err;
  }
}

function str(s) {
  return JSON.stringify(s);
}
