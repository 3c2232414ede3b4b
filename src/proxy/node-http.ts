// node:http as its CommonJS exports. An ES module import of a builtin builds a facade that
// reads every export, and node:http's lazy WebSocket, CloseEvent and MessageEvent getters
// then load Node's bundled undici with its fetch and WebSocket modules: about 75 modules and
// their source, which the gateway never runs. Value imports of node:http go through here;
// `import type` from node:http is free and stays as it is.
import type * as Http from "node:http";

export const http: typeof Http = process.getBuiltinModule("node:http");
