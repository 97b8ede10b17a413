// Preloaded into the Tessera server by bench/run.mjs (`node --import <this file> dist/cli/index.js serve`).
// The harness spawns the server with an IPC channel; if the harness dies without cleaning up (SIGKILL,
// crash), the channel closes and this exits the server, so no benchmark server is left running.
// It does nothing else and costs nothing on the request path.
if (process.channel) {
  process.on('disconnect', () => process.exit(0));
  process.channel.unref();
}
