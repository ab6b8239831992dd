// A stand-in for the Python fork server that breaks the wire protocol on request, for the runner's
// specs: a real fork server cannot be made to send bad frames. Started as `node fake-fork-server.js
// <start>` (start: `ready`, or `garbage` for a non-JSON frame instead of ready); the code of each run
// frame names what it answers (see ANSWERS).
'use strict';

const start = process.argv[2] ?? 'ready';

function frame(body) {
  const bytes = Buffer.from(body, 'utf8');
  const header = Buffer.alloc(4);
  header.writeUInt32BE(bytes.length, 0);
  return Buffer.concat([header, bytes]);
}

const done = (id, fields) => JSON.stringify({ op: 'done', id, status: 'exited', exit_code: 0, ...fields });

/** What a run frame's `code` makes this server write. */
const ANSWERS = {
  ok: (id) => process.stdout.write(frame(done(id, { stdout: 'fake\n', result: 1, run_ms: 1 }))),
  // Live output for its own run, then output that names another run (ignored), then the answer.
  'with-output': (id) => {
    const output = (runId, data) => frame(JSON.stringify({ op: 'output', id: runId, stream: 'stdout', data }));
    process.stdout.write(Buffer.concat([output(id, 'a\n'), output('other-run', 'x'), output(id, 'b')]));
    process.stdout.write(frame(done(id, { stdout: 'a\nb' })));
  },
  'not-json': () => process.stdout.write(frame('{"op": "done", oops')),
  'bad-shape': (id) => process.stdout.write(frame(done(id, { exit_code: 'zero' }))),
  // A length prefix of almost 4 GiB and no body: Node must refuse it without waiting for the body.
  'huge-length': () => process.stdout.write(Buffer.from([0xff, 0xff, 0xff, 0xf0])),
  'cut-header': () => process.stdout.write(Buffer.from([0, 0]), () => process.exit(3)),
  // A slow machine: the answer comes 1.5 s after the run frame, with a heartbeat every 50 ms meanwhile.
  'slow-with-heartbeats': (id) => {
    const answerAt = Date.now() + 1_500;
    const beat = () => {
      if (Date.now() >= answerAt) return process.stdout.write(frame(done(id, { stdout: 'late\n' })));
      process.stdout.write(frame(JSON.stringify({ op: 'heartbeat', id })));
      setTimeout(beat, 50);
    };
    beat();
  },
  silent: () => undefined,
  'one-byte-at-a-time': (id) => {
    const bytes = frame(done(id, { stdout: 'slow\n' }));
    let at = 0;
    const next = () => {
      if (at < bytes.length) process.stdout.write(bytes.subarray(at, ++at), () => setTimeout(next, 1));
    };
    next();
  },
};

if (start === 'garbage') process.stdout.write(frame('not json'));
else process.stdout.write(frame(JSON.stringify({ op: 'ready', pid: process.pid, uid: 0 })));

let pending = Buffer.alloc(0);
process.stdin.on('data', (chunk) => {
  pending = Buffer.concat([pending, chunk]);
  while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
    const length = pending.readUInt32BE(0);
    const message = JSON.parse(pending.subarray(4, 4 + length).toString('utf8'));
    pending = pending.subarray(4 + length);
    if (message.op === 'run') (ANSWERS[message.code] ?? ANSWERS.ok)(message.id);
  }
});
process.stdin.on('end', () => process.exit(0));
