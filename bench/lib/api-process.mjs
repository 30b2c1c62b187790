// An API server in a process of its own, for the figures that measure a client against a server that does
// not share its CPU time: the figure's own module, forked with `env` set (`{ [env]: '1' }`), serves the API
// and talks to this process over IPC: it sends `{ port }` once it listens, and its counters in answer to
// 'stats'.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Forks the module at `moduleUrl` (a figure's `import.meta.url`) with `env` set to '1', sends it `setup` if
 * given, and resolves once it listens: to its URL (`protocol`://127.0.0.1:port), a way to read its counters,
 * and a way to stop it. `label` names it in the error if it exits while a reply is awaited.
 */
export async function startApiProcess({ moduleUrl, env, label, protocol = 'http', setup }) {
  const child = fork(fileURLToPath(moduleUrl), [], {
    env: { ...process.env, [env]: '1' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () =>
    new Promise((resolve, reject) => {
      const onExit = (code) => reject(new Error(`${label} process exited (${code})`));
      child.once('exit', onExit);
      child.once('message', (message) => {
        child.off('exit', onExit);
        resolve(message);
      });
    });
  const started = next();
  if (setup !== undefined) child.send(setup);
  const { port } = await started;
  return {
    url: `${protocol}://127.0.0.1:${port}`,
    stats: () => {
      const reply = next();
      child.send('stats');
      return reply;
    },
    stop: () => {
      if (child.connected) child.disconnect();
      if (child.exitCode === null) child.kill();
    },
  };
}
