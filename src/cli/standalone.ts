// The standalone executable's runtime (npm run package: scripts/package.mjs bundles it with every command into one
// script that Node's single-executable support runs). An executable has no package directory: oclif can read no
// package.json, no oclif.manifest.json and import no command, help or hook file. So the bundle carries them as
// data and modules, and oclif is handed its plugins already loaded. Parsing, help, errors and exit codes are the
// same @oclif/core code the npm package runs, on the same package.json and manifests.
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { execute, settings, type Command, type Interfaces } from '@oclif/core';

/** One oclif plugin (daprup itself, then each of package.json oclif.plugins), as `npm run package` bundled it. */
export interface BundledPlugin {
  pjson: Interfaces.PJSON;
  manifest: Interfaces.Manifest;
  commands: Record<string, Command.Class>;
}

/** Part of what @oclif/core's lib/module-loader.js exports: `load` imports the help class by its file path. */
export interface OclifModuleLoader {
  load(config: unknown, modulePath: string): Promise<unknown>;
}

export interface Bundle {
  plugins: readonly BundledPlugin[];
  /** Modules package.json names by path (oclif.helpClass), keyed by that path relative to the package root; the
   *  bundled plugins have no hooks (scripts/package.mjs refuses any that could run). */
  modules: Record<string, unknown>;
  moduleLoader: OclifModuleLoader;
}

/** An oclif plugin whose package.json, manifest and command classes are in memory: no file is read. */
class InMemoryPlugin implements Interfaces.Plugin {
  readonly _base: string;
  readonly alias: string;
  readonly commandIDs: string[];
  readonly commands: Command.Loadable[];
  readonly commandsDir = undefined;
  readonly hasManifest = true;
  readonly hooks = {};
  readonly moduleType = 'module';
  readonly name: string;
  readonly options: Interfaces.Options;
  readonly pjson: Interfaces.PJSON;
  readonly topics: Interfaces.Topic[];
  readonly type = 'core';
  readonly valid = true;
  readonly version: string;

  constructor(
    bundled: BundledPlugin,
    readonly root: string,
    readonly isRoot: boolean,
  ) {
    this.pjson = bundled.pjson;
    this.name = this.pjson.name;
    this.alias = this.name;
    this.version = this.pjson.version;
    this._base = `${this.name}@${this.version}`;
    this.options = { root, isRoot };
    this.commandIDs = Object.keys(bundled.manifest.commands);
    this.commands = Object.entries(bundled.manifest.commands)
      .map(([id, cached]) => ({
        ...cached,
        pluginAlias: this.alias,
        pluginType: this.type,
        load: () => this.findCommand(id, { must: true }),
      }))
      .sort((a, b) => a.id.localeCompare(b.id));
    this.topics = Object.entries(this.pjson.oclif.topics ?? {}).map(([name, topic]) => ({ ...topic, name }));
    const classes = bundled.commands;
    this.findCommand = (async (id: string, opts?: { must: boolean }) => {
      const cmd = classes[id];
      if (!cmd && opts?.must) throw new Error(`command ${id} not found`);
      if (cmd) Object.assign(cmd, { id, plugin: this });
      return cmd;
    }) as Interfaces.Plugin['findCommand'];
  }

  findCommand: Interfaces.Plugin['findCommand'];

  async load(): Promise<void> {}
}

export async function runStandalone(bundle: Bundle): Promise<void> {
  // As bin/run.js: no ever-growing young generation for whole-cluster lists.
  setFlagsFromString('--semi-space-growth-factor=1');
  // Paths name bundled modules here, never TypeScript sources to transpile.
  settings.enableAutoTranspile = false;
  // Nothing is read from the root: it only has to be a path (oclif derives module paths from it).
  const root = dirname(process.execPath);
  const modules = new Map(Object.entries(bundle.modules).map(([path, module]) => [join(root, path), module]));
  const { load } = bundle.moduleLoader;
  bundle.moduleLoader.load = async (config, path) => modules.get(join(path)) ?? load(config, path);
  const [main] = bundle.plugins;
  if (!main) throw new Error('the bundle has no plugin');
  const plugins = new Map<string, Interfaces.Plugin>(bundle.plugins.map((p, i) => [p.pjson.name, new InMemoryPlugin(p, root, i === 0)]));
  await execute({ loadOptions: { root, pjson: main.pjson, plugins } });
}
