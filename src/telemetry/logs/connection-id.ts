// Envoy's %CONNECTION_ID%: a number unique per downstream connection within the process,
// handed out the first time a request of that connection is logged and kept on the socket.
import type { Socket } from "node:net";

const kConnectionId = Symbol("tollgate.connectionId");
let lastId = 0;

type NumberedSocket = Socket & { [kConnectionId]?: number };

export function connectionIdOf(socket: Socket): number {
  const s = socket as NumberedSocket;
  let id = s[kConnectionId];
  if (id === undefined) {
    id = ++lastId;
    s[kConnectionId] = id;
  }
  return id;
}
