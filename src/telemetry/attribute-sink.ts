// Spans and access log records describe their attributes once, as calls on a sink, so the
// same code feeds both the plain Attributes object (JSON, console, the export thread,
// tests) and the protobuf encoder that writes them straight to the wire.
import type { Attributes, AttributeValue } from "@opentelemetry/api";

export type StaticAttributes = ReadonlyArray<readonly [string, AttributeValue]>;

export interface AttributeSink {
  put(key: string, value: AttributeValue): void;
  /** A block that is the same for every item of a rule or log; its identity lets an encoder cache it. */
  putStatic(block: StaticAttributes): void;
}

class ObjectSink implements AttributeSink {
  readonly attributes: Attributes = {};

  put(key: string, value: AttributeValue): void {
    this.attributes[key] = value;
  }

  putStatic(block: StaticAttributes): void {
    for (let i = 0; i < block.length; i++) {
      const e = block[i]!;
      this.attributes[e[0]] = e[1];
    }
  }
}

/** The attributes as an object; a later put of the same key keeps its first position and takes the last value. */
export function collectAttributes(write: (sink: AttributeSink) => void): Attributes {
  const sink = new ObjectSink();
  write(sink);
  return sink.attributes;
}
