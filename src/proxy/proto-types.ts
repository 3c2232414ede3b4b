// Protobuf message types declared as JSON descriptors (the gRPC services the gateway calls),
// built on first use: a gateway that never calls one never loads protobufjs.
import { createRequire } from "node:module";
import type { INamespace, Type, Writer } from "protobufjs/light.js";

export interface MessagePair {
  readonly request: Type;
  readonly response: Type;
}

/** The request and response types of one method, looked up by full name the first time they are asked for. */
export function lazyMessagePair(descriptor: object, requestName: string, responseName: string): () => MessagePair {
  let pair: MessagePair | undefined;
  return () => {
    if (pair === undefined) {
      const protobuf = createRequire(import.meta.url)("protobufjs/light.js") as typeof import("protobufjs/light.js");
      const root = protobuf.Root.fromJSON(descriptor as INamespace);
      pair = { request: root.lookupType(requestName), response: root.lookupType(responseName) };
    }
    return pair;
  };
}

/** `message` (plain fields, camelCase) as wire bytes. */
export function encodeMessage(type: Type, message: object): Buffer {
  const bytes = type.encode(type.fromObject(message as Record<string, unknown>)).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A protobufjs Writer, for messages framed by hand (fields of already-encoded bytes). */
export function protobufWriter(): Writer {
  const protobuf = createRequire(import.meta.url)("protobufjs/light.js") as typeof import("protobufjs/light.js");
  return protobuf.Writer.create();
}
