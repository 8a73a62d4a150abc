// twinslot's sample application: a small HTTP server. `/` answers with the version, `/health`
// answers 200 while healthy. Set HEALTHY=0 to make a release that fails its health check.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const version = process.env.APP_VERSION ?? '0.0.0';
const healthy = process.env.HEALTHY !== '0';

const server = createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(healthy ? 200 : 500, { 'content-type': 'text/plain' });
    res.end(healthy ? 'ok\n' : 'database migration failed\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ app: 'sample-app', version }) + '\n');
});

server.listen(port, '127.0.0.1');
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
