// Preloaded into the Tessera server by bench/run.mjs (`node --import <this file> dist/cli/index.js serve`).
// The harness spawns the server with an IPC channel; if the harness dies without cleaning up (SIGKILL,
// crash), the channel closes and this exits the server, so no benchmark server is left running.
// It does nothing else and costs nothing on the request path.
// node:cluster workers inherit the preload, but their channel is the primary's: they leave with it on
// their own (node:cluster exits a worker whose primary is gone), and unref'ing it would let a worker
// exit while it starts up.
import cluster from 'node:cluster';

if (process.channel && !cluster.isWorker) {
  process.on('disconnect', () => process.exit(0));
  process.channel.unref();
}
