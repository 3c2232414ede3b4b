// Answers for requests node's parser or timers reject before (or while) a handler runs:
// oversized headers → 431, slow or stalled requests → 408, malformed framing (both
// Content-Length and Transfer-Encoding, bad chunking) → 400, the HTTP/2 preface → 505.
// Always JSON, always closing.
import type { ListenerSettings } from "../config/model.ts";
import { IMMEDIATE_FAIL_HEADER } from "./health-check.ts";
import { PASS_THROUGH, withHeaderLine, withServerLine } from "./server-header.ts";
import type { Duplex } from "node:stream";
import { rawErrorResponse } from "./errors.ts";
import { endAndLinger, isLingering } from "./linger.ts";
import { type MarkedResponse, kCutByProxy, kExchange } from "./marks.ts";

interface ParserError extends Error {
  code?: string;
  reason?: string;
}

/** A socket as node's HTTP server leaves it: `_httpMessage` is the response in progress. */
interface ServerSocket extends Duplex {
  _httpMessage?: MarkedResponse | null;
}

/**
 * `current`: the port's listener settings now, for an answer no request is in flight for (its
 * Server line; with a health check, the drain signal while `draining`).
 */
export function handleClientError(err: Error, rawSocket: Duplex, current: ListenerSettings | undefined, draining: boolean): void {
  const socket = rawSocket as ServerSocket;
  const code = (err as ParserError).code;
  // A reset, or a FIN before the request was whole (HPE_INVALID_EOF_STATE): the client left,
  // so there is nobody to answer and nothing the gateway did wrong (DC client_aborted).
  if (code === "ECONNRESET" || code === "EPIPE" || code === "HPE_INVALID_EOF_STATE") {
    socket.destroy();
    return;
  }
  // The answer is out and the connection lingers: node's later word on it (its
  // requestTimeout for the unfinished request) must not cut the linger short.
  if (isLingering(socket)) return;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const inFlight = socket._httpMessage ?? undefined;
  if (inFlight !== undefined) {
    inFlight[kCutByProxy] = true;
    if (inFlight.headersSent) {
      socket.destroy();
      return;
    }
  }
  const response = clientErrorResponse(code, (err as ParserError).reason);
  // A request in flight answers under its own plan's settings, as its telemetry reads them.
  let settings = current;
  if (inFlight !== undefined) {
    const exchange = inFlight[kExchange];
    if (exchange !== undefined) {
      exchange.status = response.status;
      // A 4xx is the client's error: semconv leaves the server's error.type unset for it.
      if (response.status >= 500) exchange.errorType = String(response.status);
      settings = exchange.listener.settings;
    }
  }
  let text = withServerLine(settings ?? PASS_THROUGH, response.text);
  if (draining && settings?.healthCheckPath !== undefined) text = withHeaderLine(text, `${IMMEDIATE_FAIL_HEADER}: true`);
  endAndLinger(socket, text);
}

export interface ClientErrorResponse {
  readonly status: number;
  readonly text: string;
}

export function clientErrorResponse(code: string | undefined, reason: string | undefined): ClientErrorResponse {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return {
        status: 431,
        text: rawErrorResponse(431, "Request Header Fields Too Large", "header_too_large", "the request headers exceed the listener's limit"),
      };
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return {
        status: 408,
        text: rawErrorResponse(408, "Request Timeout", "request_timeout", "the request was not received within the listener's time limit"),
      };
    case "HPE_PAUSED_H2_UPGRADE":
      // The HTTP/2 connection preface (prior knowledge); listeners speak HTTP/1.1 only.
      return {
        status: 505,
        text: rawErrorResponse(505, "HTTP Version Not Supported", "unsupported_http_version", "this listener speaks HTTP/1.1; HTTP/2 with prior knowledge is not supported"),
      };
    case "HPE_INVALID_TRANSFER_ENCODING":
    case "HPE_UNEXPECTED_CONTENT_LENGTH":
    case "HPE_INVALID_CONTENT_LENGTH":
    case "HPE_INVALID_CHUNK_SIZE":
      return {
        status: 400,
        text: rawErrorResponse(400, "Bad Request", "invalid_framing", reason ?? "the request body framing is invalid"),
      };
    default:
      return {
        status: 400,
        text: rawErrorResponse(400, "Bad Request", "bad_request", reason ?? "the request could not be parsed"),
      };
  }
}
