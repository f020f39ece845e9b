// Test helper: an AST's structure as a string without source positions (pos, opPos), for comparing a query's tree with the tree
// of its formatted form (non-finite numbers kept distinguishable).
import type { Expr } from "../../src/promql/ast.js";

export function astShape(e: Expr): string {
  return JSON.stringify(e, (key, v: unknown) => (key === "pos" || key === "opPos" ? undefined : typeof v === "number" && !Number.isFinite(v) ? String(v) : v));
}
