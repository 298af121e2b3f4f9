// Fault injection at the HTTP level: the real SDK client, its real retry strategy, a real server,
// and a handler in between that answers some requests with a throttling error or a 500 instead.

import { HttpResponse } from '@smithy/protocol-http';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Readable } from 'node:stream';

export interface Faults {
  /** Decides, per request (0-based count), whether to fail it and how. */
  fail(index: number, target: string): 'throttle' | 'server-error' | undefined;
}

export class FlakyHttpHandler extends NodeHttpHandler {
  public requests = 0;
  public injected = 0;

  public constructor(private readonly faults: Faults) {
    super();
  }

  public override async handle(...[request, options]: Parameters<NodeHttpHandler['handle']>): ReturnType<NodeHttpHandler['handle']> {
    const index = this.requests++;
    const target = String(request.headers['x-amz-target'] ?? '');
    const fault = this.faults.fail(index, target);
    if (!fault) return super.handle(request, options);
    this.injected++;
    const body =
      fault === 'throttle'
        ? { __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'Rate of requests exceeds the allowed throughput.' }
        : { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'Internal server error' };
    return {
      response: new HttpResponse({
        statusCode: fault === 'throttle' ? 400 : 500,
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': `fault-${index}` },
        body: Readable.from([Buffer.from(JSON.stringify(body))]),
      }),
    };
  }
}
