// User-controlled text (file and folder names, dataset, run and class names, notes, tags, messages that quote
// them) printed in the CLI's human-readable output. A name may hold a newline that fakes a line of output, an ANSI
// escape that recolours or rewrites the terminal, or a bidi override that shows the text in another order; each
// becomes a visible escape, so one value always prints as what it is, on its own line. JSON output is not passed
// through this: it stays exact.

/**
 * C0 controls, DEL, C1 controls, the line and paragraph separators, and the bidi embeddings, overrides and isolates
 * (U+202A-U+202E, U+2066-U+2069).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is this pattern's whole purpose
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\u001b': '\\e' };

function escapeOne(char: string): string {
  const named = NAMED[char];
  if (named) return named;
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * The text with every terminal-unsafe character written as a visible escape (`\n`, `\e`, `\x9b`, `\u202e`).
 * Backslashes are left alone so Windows paths read as they are; the escapes are for a person, not for parsing
 * (that is what --json is for).
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, escapeOne);
}
