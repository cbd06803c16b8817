// fastify's request logs at debug: a fleet heartbeating, or a gateway forwarding thousands of
// requests a second, at info would drown every line that matters.
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

export class RequestLogsAtDebug extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, _request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}
