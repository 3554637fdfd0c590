// `npm run demo`: start the sandbox control plane (building it the first time), install the fixture Dapr
// 1.17.13 with sample apps, then `daprup plan` and `daprup upgrade --yes --enable-ha` to 1.18.3, `daprup status`,
// and stop the sandbox.
import { createDaprEnv, installDapr, runDaprup } from '../e2e/dapr-env.js';
import { HELM_FLAVOURS } from '../support/tools.js';
import { deploySampleApps } from './sample-apps.js';
import { startSandbox } from './sandbox.js';

const say = (line: string) => console.log(`\n\x1b[1m== ${line}\x1b[0m`);
const t0 = Date.now();
say('starting the sandbox control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok)');
const sandbox = await startSandbox();
console.log(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; export KUBECONFIG=${sandbox.kubeconfig}`);
try {
  const env = await createDaprEnv(HELM_FLAVOURS[1]!, sandbox.kubeconfig);
  say('helm install dapr 1.17.13 (fixture chart from a loopback repository) and sample apps');
  await installDapr(env, '1.17.13');
  await deploySampleApps(env.flavour.kubectl, sandbox.kubeconfig);
  for (const args of [['plan', '--to', '1.18.3', '--enable-ha'], ['upgrade', '--to', '1.18.3', '--enable-ha', '--yes'], ['status']]) {
    say(`daprup ${args.join(' ')}`);
    const r = await runDaprup(env, args);
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    if (r.code !== 0) throw new Error(`daprup ${args[0]} exited with ${r.code}`);
  }
  await env.repo.stop();
} finally {
  say('stopping the sandbox');
  await sandbox.stop();
  console.log(`demo took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
