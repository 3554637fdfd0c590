// Lets Node run the sandbox's TypeScript directly (`node --import ./test/sandbox/ts-resolve.mjs x.ts`): Node strips
// types natively but does not map the `./x.js` specifiers our sources use (as tsc and vitest expect) to `./x.ts`.
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (err) {
      if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !/^\.{1,2}\/.*\.js$/.test(specifier)) throw err;
      return nextResolve(specifier.replace(/\.js$/, '.ts'), context);
    }
  },
});
