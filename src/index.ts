// Library entry point of tsink: the embedded storage API and its types.
// Loading the durability layer registers it with StorageBuilder (withDataPath: WAL, segments, compaction).
import "./storage/segment/disk-durability.js";
export { StorageBuilder } from "./storage/builder.js";
export { Storage } from "./storage/engine.js";
export { TsinkError, type TsinkErrorCode } from "./storage/errors.js";
export type { StorageOptions, WalReplayMode, WalSyncMode } from "./storage/options.js";
export * from "./storage/types.js";
export { parse, formatExpr, PromqlParseError } from "./promql/parser/index.js";
export type { Expr } from "./promql/ast.js";
export { PromqlEngine, PromqlError, type PromqlEngineOptions, type QueryOptions as PromqlQueryOptions, type PromqlErrorType, type QueryResult, type InstantSample, type RangeSeries, type SeriesSource } from "./promql/engine.js";
