// Messages between the request thread and the export thread (export-worker.ts). An export
// carries one finished OTLP protobuf request, moved (not copied) across.
import type { OtlpExporterConfig } from "./otlp-config.ts";
import type { Rejection } from "./partial-success.ts";

export type ThreadSignal = "traces" | "logs";

export type ToExportThread =
  | { readonly type: "open"; readonly exporter: number; readonly signal: ThreadSignal; readonly config: OtlpExporterConfig }
  | { readonly type: "export"; readonly exporter: number; readonly seq: number; readonly count: number; readonly request: Uint8Array }
  | { readonly type: "close"; readonly exporter: number };

export type FromExportThread =
  | { readonly type: "result"; readonly seq: number; readonly ok: boolean; readonly error: string | undefined; readonly rejected: Rejection | undefined }
  | { readonly type: "closed"; readonly exporter: number };
