// Command line of the bench scripts: node:util parseArgs (strict, so an unknown or misspelt flag stops the run with
// its name) plus --help, which prints the script's purpose, its flags with their defaults and the env vars it reads.
import { parseArgs } from "node:util";
import { basename } from "node:path";

/**
 * Parses process.argv for a bench script. `flags`: name -> { type: "string" | "boolean", default?, help }; string
 * flags come back as strings (or their default), boolean ones as true/false. `env`: name -> what it sets.
 * Exits 0 after printing the help for --help, 2 with a message for an unknown flag or a missing value.
 */
export function benchArgs({ about, flags, env = {}, positionals }) {
  const script = basename(process.argv[1] ?? "bench");
  const options = { help: { type: "boolean" } };
  for (const [name, f] of Object.entries(flags)) options[name] = { type: f.type };
  let parsed;
  try {
    parsed = parseArgs({ options, strict: true, allowPositionals: positionals !== undefined });
  } catch (err) {
    console.error(`${script}: ${err.message} (see --help)`);
    process.exit(2);
  }
  if (parsed.values.help) {
    const rows = Object.entries(flags).map(([name, f]) => {
      const left = `--${name}${f.type === "string" ? " V" : ""}`;
      const dflt = f.default === undefined ? "" : ` (default ${f.default})`;
      return `  ${left.padEnd(26)} ${f.help}${dflt}`;
    });
    const envRows = Object.entries(env).map(([name, help]) => `  ${name.padEnd(26)} ${help}`);
    console.log(
      [`Usage: node ${script.endsWith(".ts") ? "--import tsx " : ""}${process.argv[1] ? process.argv[1].replace(`${process.cwd()}/`, "") : script} [flags]${positionals ? ` ${positionals}` : ""}`, about, "Flags:", ...rows, `  ${"--help".padEnd(26)} this text`, ...(envRows.length ? ["Environment:", ...envRows] : [])].join("\n"),
    );
    process.exit(0);
  }
  const values = {};
  for (const [name, f] of Object.entries(flags)) values[name] = parsed.values[name] ?? (f.type === "boolean" ? false : f.default === undefined ? undefined : String(f.default));
  return { values, positionals: parsed.positionals };
}
