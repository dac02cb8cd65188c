import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { NodeView } from '../../../shared/types';
import { forwardableHeaders } from './headers';
import { sendError } from './responses';

export type SingleNodeRequest = {
  node: NodeView;
  method: string;
  /** Path and query string sent to the node. */
  path: string;
  headers: OutgoingHttpHeaders;
  /** Body bytes already read; without them the client's request body is piped as it arrives. */
  body?: Buffer;
};

/** Outcome of a forwarded request: the node's status, or why no status came back. */
export type SingleNodeOutcome = { kind: 'answered'; status: number; completed: boolean } | { kind: 'failed'; error: string };

/**
 * Sends one request to one node and streams its response back unchanged, without buffering
 * either body, so a multi-gigabyte blob upload passes through in constant memory. The client
 * closing its connection destroys the upstream request. A node that fails before its response
 * headers gets 502 with the node's name in the message.
 */
export function forwardToNode(input: SingleNodeRequest, req: IncomingMessage, res: ServerResponse): Promise<SingleNodeOutcome> {
  const target = new URL(input.path, input.node.url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: SingleNodeOutcome) => {
      if (settled) return;
      settled = true;
      res.off('close', onClientClose);
      resolve(outcome);
    };

    const upstream = send(target, { method: input.method, headers: input.headers });
    const onClientClose = () => {
      if (res.writableFinished) return;
      upstream.destroy(new Error('client disconnected'));
      settle({ kind: 'failed', error: 'client disconnected' });
    };
    res.on('close', onClientClose);

    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, forwardableHeaders(answer.headers));
      answer.pipe(res);
      answer.on('end', () => settle({ kind: 'answered', status: answer.statusCode ?? 502, completed: true }));
      answer.on('error', () => {
        res.destroy();
        settle({ kind: 'answered', status: answer.statusCode ?? 502, completed: false });
      });
    });
    upstream.on('error', (error) => {
      if (settled) return;
      const message = `node '${input.node.name}' failed: ${error.message}`;
      if (!res.headersSent) sendError(res, 502, message);
      else res.destroy();
      settle({ kind: 'failed', error: message });
    });

    if (input.body !== undefined) upstream.end(input.body);
    else req.pipe(upstream);
  });
}
