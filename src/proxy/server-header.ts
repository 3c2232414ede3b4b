// HTTPListenerPolicy serverHeaderTransformation (Envoy's server_header_transformation): the
// Server header of every answer, proxied or the gateway's own. Envoy writes its server_name
// after every filter, so `Overwrite` beats a route's header modifier too; the gateway's name
// is `tollgate` unless the policy's serverName gives another.
import type { ListenerSettings } from "../config/model.ts";

/** What decides the Server header: the transformation, and the name it writes. */
export type ServerHeaderSettings = Pick<ListenerSettings, "serverHeader" | "serverName">;

export const SERVER_NAME = "tollgate";

/** For answers written before any listener's settings apply: the upstream's Server or none. */
export const PASS_THROUGH: ServerHeaderSettings = { serverHeader: "PassThrough", serverName: SERVER_NAME };

/** A head as a header object (lower-case names), changed in place. */
export function transformServerHeader(server: ServerHeaderSettings, headers: Record<string, string | string[] | number | undefined>): void {
  const mode = server.serverHeader;
  if (mode === "Overwrite" || (mode === "AppendIfAbsent" && headers["server"] === undefined)) headers["server"] = server.serverName;
}

/** A head as the flat `[name, value, ...]` list writeHead takes (lower-case names), changed in place. */
export function transformServerHeaderList(server: ServerHeaderSettings, list: (string | string[])[]): void {
  const mode = server.serverHeader;
  if (mode === "PassThrough") return;
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] !== "server") continue;
    if (mode === "Overwrite") list[i + 1] = server.serverName;
    return;
  }
  list.push("server", server.serverName);
}

/** A raw answer (`HTTP/1.1 ...\r\n` and its head), with the gateway's Server line when the mode adds one. */
export function withServerLine(server: ServerHeaderSettings, response: string): string {
  return server.serverHeader === "PassThrough" ? response : withHeaderLine(response, `server: ${server.serverName}`);
}

/** A raw answer with `line` (`name: value`) right after its status line. */
export function withHeaderLine(response: string, line: string): string {
  const endOfStatus = response.indexOf("\r\n");
  return `${response.slice(0, endOfStatus)}\r\n${line}${response.slice(endOfStatus)}`;
}
