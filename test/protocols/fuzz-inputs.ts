// Test helper: fast-check inputs for the text-protocol fuzz tests that reach past the first bad byte: valid bodies
// with a few characters replaced, inserted or deleted, so both accepted and rejected bodies come out often.
import fc from "fast-check";

/** One of `valid`, with up to `maxEdits` edits (replace, insert or delete one character; new ones from `alphabet`). */
export function mutatedText(valid: readonly string[], alphabet: string, maxEdits = 3): fc.Arbitrary<string> {
  const edit = fc.record({ at: fc.nat(), kind: fc.constantFrom("replace", "insert", "delete"), char: fc.constantFrom(...alphabet.split("")) });
  return fc.tuple(fc.constantFrom(...valid), fc.array(edit, { maxLength: maxEdits })).map(([text, edits]) => {
    let out = text;
    for (const e of edits) {
      const at = e.at % (out.length + 1);
      if (e.kind === "insert") out = out.slice(0, at) + e.char + out.slice(at);
      else if (at < out.length) out = out.slice(0, at) + (e.kind === "replace" ? e.char : "") + out.slice(at + 1);
    }
    return out;
  });
}
