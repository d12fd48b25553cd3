import type { Command } from '../command';
import { UsageError } from '../command';
import { startWebHost } from '../../host/web';
import { rendererRoot } from '../../build-paths';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Serve the Pawprint UI to a browser on this machine',
  usage: 'pawprint serve [--host H] [--port P]',
  options: {
    host: { type: 'string', description: 'address to bind (default 127.0.0.1; anything else is reachable by others)' },
    port: { type: 'string', description: 'port to listen on (0 = any free port; default 0)' },
  },
  async run({ positionals, values }, context) {
    if (positionals.length > 0) throw new UsageError(`serve takes no arguments (got "${positionals[0]}")`);
    const port = values.port === undefined ? 0 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0-65535, not "${String(values.port)}"`);
    const host = typeof values.host === 'string' ? values.host : '127.0.0.1';
    if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
      context.log(`Warning: binding ${host} makes Pawprint reachable from other machines; anyone with the token can read your catalogue.`);
    }
    const services = context.services();
    const web = await startWebHost({ services, staticRoot: rendererRoot(), host, port });
    if (context.json) context.output({ url: web.launchUrl, databasePath: services.app.paths.databasePath });
    else console.log(`Pawprint is running at ${web.launchUrl}`);
    context.log(`Catalogue: ${services.app.paths.databasePath}. Press Ctrl+C to stop.`);
    await new Promise<void>((resolve) => {
      if (context.signal.aborted) resolve();
      context.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await web.close();
  },
};
