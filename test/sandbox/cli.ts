// `npm run sandbox`: start a sandbox control plane for trying daprup by hand; Ctrl-C stops it.
import { startSandbox } from './sandbox.js';

const started = Date.now();
const sandbox = await startSandbox({ log: (line) => console.error(line) });
console.error(`sandbox ready in ${((Date.now() - started) / 1000).toFixed(1)} s; logs in ${sandbox.workDir}/logs`);
console.log(`export KUBECONFIG=${sandbox.kubeconfig}`);
console.error(`kubectl: ${sandbox.kubectl}   (Ctrl-C to stop)`);

// The injector's HTTPS server is unref'd so tests never hang on it; keep this process alive ourselves.
const keepAlive = setInterval(() => {}, 1 << 30);
let stopping = false;
const shutdown = (signal: NodeJS.Signals): void => {
  if (stopping) {
    console.error(`\n${signal} again: killing the sandbox`);
    process.exit(130); // processes.ts kills every component on exit
  }
  stopping = true;
  console.error(`\n${signal}: stopping the sandbox`);
  sandbox.stop().then(
    () => {
      clearInterval(keepAlive);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
