// Messages between the request thread and the export thread (export-worker.ts).
import type { OtlpExporterConfig } from "./otlp-config.ts";
import type { WireBatch, WireSignal } from "./wire.ts";

export type ToExportThread =
  | { readonly type: "open"; readonly exporter: number; readonly signal: WireSignal; readonly config: OtlpExporterConfig }
  | { readonly type: "export"; readonly exporter: number; readonly seq: number; readonly batch: WireBatch }
  | { readonly type: "close"; readonly exporter: number };

export type FromExportThread =
  | { readonly type: "result"; readonly seq: number; readonly ok: boolean; readonly error: string | undefined }
  | { readonly type: "closed"; readonly exporter: number };
