import { runCli } from './main';

const controller = new AbortController();
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    // First signal: stop cleanly (commands get the abort); second: leave at once.
    if (interrupted) process.exit(130);
    interrupted = true;
    controller.abort();
  });
}
process.exitCode = await runCli(process.argv.slice(2), undefined, controller.signal);
