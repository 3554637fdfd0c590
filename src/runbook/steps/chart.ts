// check-chart: the target chart exists and its APP VERSION is the target (pulled in prepareRun, so the
// plan and the upgrade use the very same files). apply-crds: the CRDs from that pulled chart — Helm
// installs crds/ only on first install and never upgrades them.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ChartMetadata } from '../../cluster/helm.js';
import { explain } from '../../dapr/discovery.js';
import { refusal } from '../../errors.js';
import type { RunContext, Step } from '../types.js';

const pulledVersion = (ctx: RunContext) => {
  const file = join(ctx.chartDir, 'Chart.yaml');
  return existsSync(file) ? (parseYaml(readFileSync(file, 'utf8')) as ChartMetadata) : undefined;
};

export const checkChart: Step = {
  id: 'check-chart',
  title: 'Check the target chart and its APP VERSION',
  async plan(ctx) {
    const o = ctx.options;
    const repo = o.chart.includes('/') && !o.chart.startsWith('oci://') ? o.chart.split('/')[0]! : undefined;
    return {
      summary: `${o.chart} ${ctx.targetChart.version} (APP VERSION ${ctx.targetChart.appVersion}) pulled to ${ctx.chartDir}`,
      commands: [
        ...(repo ? [ctx.tools.helm.commandLine(ctx.tools.helm.repoUpdateArgs(repo)), ctx.tools.helm.commandLine(['search', 'repo', o.chart, '--versions', '--devel', '-o', 'json'])] : []),
        ctx.tools.helm.commandLine(ctx.tools.helm.pullArgs(o.chart, o.target, join(ctx.workDir, 'chart'))),
      ],
      destructive: false,
    };
  },
  async isDone(ctx) {
    return String(pulledVersion(ctx)?.appVersion ?? '').replace(/^v/, '') === ctx.options.target;
  },
  async apply(ctx) {
    if (!(await this.isDone(ctx))) throw refusal(`The pulled chart in ${ctx.chartDir} is not Dapr ${ctx.options.target}.`, 'Remove the run directory and run again.');
  },
  async verify() {},
};

/** Where prepare writes the CRDs to apply: the chart's, with the live conversion settings kept (src/dapr/crds.ts). */
export const crdsToApplyDir = (workDir: string) => join(workDir, 'crds');
const crdsDir = (ctx: RunContext) => crdsToApplyDir(ctx.workDir);

export const applyCrds: Step = {
  id: 'apply-crds',
  title: 'Apply the CRDs from the target chart',
  async plan(ctx) {
    const pending = ctx.crds.filter((c) => c.action !== 'unchanged');
    const skip = ctx.verdict.change === 'downgrade' ? 'downgrade: the newer CRDs stay (they are backwards compatible)'
      : !ctx.crds.length ? 'the chart has no crds/ directory'
      : !pending.length ? 'every CRD already matches the target chart' : undefined;
    return {
      summary: skip ?? pending.map((c) => `${c.name} (${c.action})`).join(', '),
      commands: skip ? [] : [ctx.tools.kubectl.commandLine(...ctx.tools.kubectl.applyServerSideArgs(crdsDir(ctx)))],
      destructive: false,
      skip,
    };
  },
  async isDone(ctx) {
    if (ctx.verdict.change === 'downgrade' || !ctx.crds.length) return true;
    // A missing CRD shows as a 'create' in the diff: nothing to create or update means done.
    return (await ctx.tools.kubectl.diffChanges(crdsDir(ctx))).size === 0;
  },
  async apply(ctx, report) {
    try {
      const out = await ctx.tools.kubectl.applyServerSide(crdsDir(ctx));
      report(out.trim().split('\n').join('; '));
    } catch (e) {
      throw explain(e, 'Applying the CRDs');
    }
  },
  async verify(ctx) {
    if (await missingCrds(ctx)) throw new Error('some CRDs of the target chart are still missing');
  },
};

async function missingCrds(ctx: RunContext): Promise<boolean> {
  const names = ctx.crds.map((c) => `customresourcedefinitions/${c.name}`);
  const live = await ctx.tools.kubectl.list(names, { ignoreNotFound: true });
  return live.length < names.length;
}
