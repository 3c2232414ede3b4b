/** Envoy's response flags (short names) in the order Envoy writes several of them. */
export const ENVOY_RESPONSE_FLAGS: readonly string[] = ["LH", "UH", "UT", "LR", "UR", "UF", "UC", "UO", "NR", "DI", "FI", "RL", "UAEX", "RLSE", "DC", "URX", "SI", "IH", "DPE", "UMSDR", "RFCF", "NFCF", "DT", "UPE", "NC", "OM", "DF", "DO", "DR"];
