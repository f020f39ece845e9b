// WASM entry point: a plain list of re-exports; each kernel module adds its line here.
export { scratch, readArena, readArenaPoints, cacheAlloc, cacheFree } from "./memory";
export { checksum, xxh64Into } from "./codec/checksum";
export {
  encodeChunk, encodeOutputBytes, encodeWorkBytes, unsortedInputIndex, checkHeader, decodeChunk, decodeRange,
  decodeRecordRange, decodeSeriesRecords, aggregateChunk, timestampsFromF64,
} from "./codec/chunk";
export { promqlRangeEval } from "./promql/range_functions";
export { snappyDecompressInto } from "./protocols/snappy";
export { wrScan, wrOutputs, wrSampleCount, wrExemplarCount, wrExemplars, wrCacheGeneration, wrCacheClear } from "./protocols/write_request";
export {
  ilScan, ilOutputs, ilSampleCount, ilCacheGeneration, ilCacheClear, ilKeyCount, ilKeyBytes, ilKeyLength, ilFieldBytes,
  ilFieldLength, ilFieldKey,
} from "./protocols/influx_lines";
export { jsonPoints, jsonPointsStopAt, jsonValue, jsonValueOut } from "./text/json_points";
