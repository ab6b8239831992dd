#!/usr/bin/env node
// A local OTLP/HTTP receiver that accepts and counts trace exports (any encoding), for measuring
// the cost of tracing: `node bench/otlp-sink.js & OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 npm run bench`.
'use strict';
const http = require('node:http');

const port = Number(process.env.OTLP_SINK_PORT ?? 4318);
let requests = 0;
let bytes = 0;
const server = http.createServer((req, res) => {
  req.on('data', (chunk) => (bytes += chunk.length));
  req.on('end', () => {
    if (req.url === '/v1/traces') requests += 1;
    res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/json' }).end();
  });
});
server.listen(port, '127.0.0.1', () => console.log(`otlp-sink: listening on http://127.0.0.1:${port}`));
const report = () => {
  console.log(`otlp-sink: ${requests} trace exports, ${(bytes / 1024 / 1024).toFixed(1)} MiB`);
  process.exit(0);
};
process.on('SIGINT', report);
process.on('SIGTERM', report);
