// Connections the gateway itself cut when a drain ran out of time (SIGTERM's drain timeout,
// or a listener a reload removed outliving removedListenerTimeout). A request still open on
// one ends as `gateway_shutdown`, not as a client abort: the client did nothing.
const cutSockets = new WeakSet<object>();

export function markCutForShutdown(socket: object | null | undefined): void {
  if (socket != null) cutSockets.add(socket);
}

export function cutForShutdown(socket: object | null | undefined): boolean {
  return socket != null && cutSockets.has(socket);
}
