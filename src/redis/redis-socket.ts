import { createConnection } from 'node:net';

/** One inline command over a unix socket; resolves with the first reply line, or undefined on any error. */
export function socketCommand(socketPath: string, command: string, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection(socketPath);
    let reply = '';
    const finish = (line: string | undefined) => {
      socket.destroy();
      resolve(line);
    };
    socket.setTimeout(timeoutMs, () => finish(undefined));
    socket.once('error', () => finish(undefined));
    // SHUTDOWN closes the connection without a reply when it succeeds.
    socket.once('end', () => finish(reply.split('\r\n')[0] || undefined));
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) finish(reply.split('\r\n')[0]);
    });
  });
}

/** True when a redis-server answers PING on the socket (false while it is still loading its data). */
export async function answersPing(socketPath: string): Promise<boolean> {
  return (await socketCommand(socketPath, 'PING')) === '+PONG';
}
