// twinslot's sample application: a small HTTP server. `/` answers with the version, `/health`
// answers 200 while healthy. HEALTHY=0 makes a release that fails its health check from the
// start; FAIL_AFTER_MS=N one that passes its first checks and breaks N ms later (as a release
// whose background migration dies would), which only a probation period catches.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const version = process.env.APP_VERSION ?? '0.0.0';
const started = Date.now();
const failAfter = process.env.FAIL_AFTER_MS === undefined ? Infinity : Number(process.env.FAIL_AFTER_MS);
const healthy = () => process.env.HEALTHY !== '0' && Date.now() - started < failAfter;

const server = createServer((req, res) => {
  if (req.url === '/health') {
    const ok = healthy();
    res.writeHead(ok ? 200 : 500, { 'content-type': 'text/plain' });
    res.end(ok ? 'ok\n' : 'database migration failed\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ app: 'sample-app', version }) + '\n');
});

server.listen(port, '127.0.0.1');
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
