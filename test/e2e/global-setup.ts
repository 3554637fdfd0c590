// Starts one sandbox control plane for the whole e2e project (tests run one file at a time against it) and hands
// its kubeconfig to the tests through vitest's provide/inject. DAPRUP_E2E_KUBECONFIG=<file> reuses a sandbox that is
// already running (e.g. `npm run sandbox` in another terminal) and leaves it running.
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildControlPlane, defaultKubectl, startSandbox } from '../sandbox/sandbox.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    binDir: string;
    kubectl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const reuse = process.env.DAPRUP_E2E_KUBECONFIG;
  if (reuse) {
    project.provide('kubeconfig', resolve(reuse));
    project.provide('binDir', await buildControlPlane());
    project.provide('kubectl', defaultKubectl());
    return async () => {};
  }
  const started = Date.now();
  const sandbox = await startSandbox({ log: process.env.DAPRUP_SANDBOX_VERBOSE ? (l) => console.error(l) : undefined });
  console.error(`e2e sandbox ready in ${((Date.now() - started) / 1000).toFixed(1)} s (${sandbox.apiServerUrl})`);
  project.provide('kubeconfig', sandbox.kubeconfig);
  project.provide('binDir', sandbox.binDir);
  project.provide('kubectl', sandbox.kubectl);
  return () => sandbox.stop();
}
