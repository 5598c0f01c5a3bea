// Loaded with `node -r ./preload-loopback.cjs main.js` (the cwd being
// node_modules/kinesis-local, where the emulator reads server.json): makes
// every TCP server of the process listen on 127.0.0.1 only. kinesis-local
// 0.6.2 listens on all interfaces (0.0.0.0 given as a wildcard, which it
// turns into listen(port) with no host, i.e. "::" dual-stack) and has no
// setting for the host; the tests of internal/kinesis talk to loopback only.
'use strict';

const net = require('net');

const HOST = '127.0.0.1';
const listen = net.Server.prototype.listen;

net.Server.prototype.listen = function (...args) {
  const first = args[0];
  if (typeof first === 'number' || (typeof first === 'string' && /^[0-9]+$/.test(first))) {
    // listen(port[, host][, backlog][, callback])
    let rest = args.slice(1);
    if (rest.length > 0 && (typeof rest[0] === 'string' || rest[0] === undefined || rest[0] === null)) {
      rest = rest.slice(1); // the host given, replaced below
    }
    return listen.call(this, Number(first), HOST, ...rest);
  }
  if (first !== null && typeof first === 'object' && ('port' in first) && !('path' in first)) {
    // listen(options[, callback])
    return listen.call(this, { ...first, host: HOST }, ...args.slice(1));
  }
  return listen.apply(this, args); // a Unix socket path or a handle
};

// With KINESISLOCAL_EXIT_ON_STDIN_EOF=1 the process exits when its standard
// input closes: a test harness that dies without stopping the emulator
// (kinesistest gives it a pipe) does not leave it running.
if (process.env.KINESISLOCAL_EXIT_ON_STDIN_EOF === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}
