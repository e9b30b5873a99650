/**
 * Text from a config file (or a file name) made safe to print on a terminal: control characters
 * (C0 but newline, DEL, C1), line and paragraph separators and bidirectional overrides are
 * written as `\xNN` / `\uNNNN`, so a binary file or a hostile string cannot move the cursor,
 * recolour the terminal or hide text in a message. Keeps `\n` when `newlines` is true.
 */
const UNPRINTABLE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const UNPRINTABLE_BUT_NEWLINE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function printable(text: string, newlines = false): string {
  return text.replace(newlines ? UNPRINTABLE_BUT_NEWLINE : UNPRINTABLE, escaped);
}

function escaped(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, "0")}`
    : `\\u${code.toString(16).padStart(4, "0")}`;
}
