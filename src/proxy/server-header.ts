// HTTPListenerPolicy serverHeaderTransformation (Envoy's server_header_transformation): the
// Server header of every answer, proxied or the gateway's own. Envoy writes its server_name
// after every filter, so `Overwrite` beats a route's header modifier too; the gateway's name
// is `tollgate`.
import type { ListenerSettings } from "../config/model.ts";

export type ServerHeaderMode = ListenerSettings["serverHeader"];

export const SERVER_NAME = "tollgate";

/** A head as a header object (lower-case names), changed in place. */
export function transformServerHeader(mode: ServerHeaderMode, headers: Record<string, string | string[] | number | undefined>): void {
  if (mode === "Overwrite" || (mode === "AppendIfAbsent" && headers["server"] === undefined)) headers["server"] = SERVER_NAME;
}

/** A head as the flat `[name, value, ...]` list writeHead takes (lower-case names), changed in place. */
export function transformServerHeaderList(mode: ServerHeaderMode, list: (string | string[])[]): void {
  if (mode === "PassThrough") return;
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] !== "server") continue;
    if (mode === "Overwrite") list[i + 1] = SERVER_NAME;
    return;
  }
  list.push("server", SERVER_NAME);
}

/** A raw answer (`HTTP/1.1 ...\r\n` and its head), with the gateway's Server line when the mode adds one. */
export function withServerLine(mode: ServerHeaderMode, response: string): string {
  return mode === "PassThrough" ? response : withHeaderLine(response, `server: ${SERVER_NAME}`);
}

/** A raw answer with `line` (`name: value`) right after its status line. */
export function withHeaderLine(response: string, line: string): string {
  const endOfStatus = response.indexOf("\r\n");
  return `${response.slice(0, endOfStatus)}\r\n${line}${response.slice(endOfStatus)}`;
}
