import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import type { FastifyInstance } from 'fastify';
import type { FromChild, ToChild } from './child-protocol.ts';

// The child half of a benchmarked server: listens on a free loopback port, tells the bench which, answers its
// questions (CPU used so far, a CPU profile of a given window) and closes when told to or when the bench is gone.

function send(message: FromChild): void {
  process.send?.(message);
}

export async function serveToParent(app: FastifyInstance): Promise<void> {
  if (!process.send) throw new Error('run by the bench (test/bench/run-bench.ts), which talks to it over IPC');

  // The inspector rather than --cpu-prof: it profiles only the window the bench asks for, not start-up and warm-up.
  const profiler = new Session();
  let closing = false;
  const close = async () => {
    if (closing) return;

    closing = true;
    profiler.disconnect();
    await app.close();
    process.exit(0);
  };

  process.on('message', async (message: ToChild) => {
    if (message.type === 'cpu-usage') {
      send({ type: 'cpu-usage', usage: process.cpuUsage() });
    } else if (message.type === 'profile-start') {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
      send({ type: 'profile-started' });
    } else if (message.type === 'profile-stop') {
      const { profile } = await profiler.post('Profiler.stop');
      await writeFile(message.path, JSON.stringify(profile));
      send({ type: 'profile-written', path: message.path });
    }
  });
  process.once('SIGTERM', close);
  // Ctrl-C reaches the whole process group: the bench stops after its current step and then stops us, so a
  // measurement under way never meets a dead server.
  process.on('SIGINT', () => {});
  // The bench died without stopping us: a server left behind would hold its port and CPU.
  process.once('disconnect', close);

  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error(`unexpected server address ${address}`);
  send({ type: 'listening', port: address.port });
}
