import type { AuthChallenge } from './www-authenticate.js';

/**
 * How much of a `WWW-Authenticate` header is parsed: its first 16 KiB (UTF-16 code units). A list item
 * (auth-param or token68) that the cut reaches is dropped rather than reported cut short.
 */
export const MAX_HEADER_LENGTH = 16 * 1024;
/** How many challenges are parsed; later ones are ignored. A real header carries a few. */
export const MAX_CHALLENGES = 16;
/** How many auth-params of one challenge are kept; later ones are ignored. Digest, the widest scheme, has about ten. */
export const MAX_PARAMS = 32;

// Character classes (RFC 9110 §5.6, §11.2): tchar, token68 characters, the "=" that pads a token68, OWS, the list comma.
const TCHAR = 1;
const TOKEN68 = 2;
const EQUALS = 4;
const WHITESPACE = 8;
const COMMA = 16;
/** The classes of each ASCII character; any other character is in none. */
const CLASSES = new Uint8Array(128);
const ALPHANUMERIC = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
for (const [chars, classes] of [
  [ALPHANUMERIC, TCHAR | TOKEN68],
  ["!#$%&'*+-.^_`|~", TCHAR],
  ['-._~+/', TOKEN68],
  ['=', EQUALS],
  [' \t', WHITESPACE],
  [',', COMMA],
] as const) {
  for (const c of chars) CLASSES[c.charCodeAt(0)]! |= classes;
}
// Character codes, and what `codeAt` reads at the end of the scanned text.
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const EQUALS_SIGN = 0x3d;
const COMMA_SIGN = 0x2c;
const NO_CHARACTER = -1;

/** Counts the scanner's work: one step per character examined, and one per run of characters scanned. */
export interface ScanStats {
  steps: number;
}

type Challenge = { scheme: string; params: Record<string, string>; token68?: string };

/** The index after the run of characters of the given classes that starts at `i`. */
function runEnd(text: string, i: number, end: number, classes: number): number {
  while (i < end) {
    const code = text.charCodeAt(i);
    if (code >= 128 || ((CLASSES[code] ?? 0) & classes) === 0) break;
    i++;
  }
  return i;
}

/** The index after the closing quote of the quoted-string that opens at `i`; -1 if it is not terminated. */
function quotedEnd(text: string, i: number, end: number): number {
  for (i++; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) return i + 1;
    if (code === BACKSLASH) i++;
  }
  return -1;
}

/** The value of the quoted-string from `start` to `stop` (its quotes included), with its quoted-pairs undone. */
function unquote(text: string, start: number, stop: number): string {
  const inner = text.slice(start + 1, stop - 1);
  return inner.includes('\\') ? inner.replace(/\\([\s\S])/g, '$1') : inner;
}

/** The index of the comma that ends the malformed list item at `i`, not counting commas in quoted-strings; or `end`. */
function itemEnd(text: string, i: number, end: number): number {
  while (i < end) {
    const code = text.charCodeAt(i);
    if (code === COMMA_SIGN) return i;
    if (code === QUOTE) {
      i = quotedEnd(text, i, end);
      if (i < 0) return end;
    } else {
      i++;
    }
  }
  return end;
}

/**
 * One forward scan of a header value (see {@link scanChallenges}), one method per piece of the grammar. Each `read…`
 * and `skip…` method moves the position past what it read and returns whether the scan goes on.
 */
class ChallengeScanner {
  readonly #text: string;
  /** Where the scan stops: the end of the text, or the cut at {@link MAX_HEADER_LENGTH}. */
  readonly #end: number;
  /** Whether the cut shortened the text, so that an item reaching `#end` may be incomplete. */
  readonly #truncated: boolean;
  readonly #challenges: Challenge[] = [];
  /** The challenge that auth-params read now belong to. */
  #current: Challenge | undefined;
  #paramCount = 0;
  /** True right after `scheme 1*SP`, where a bare token is no new challenge but garbage. */
  #afterScheme = false;
  #position = 0;
  /** The work done so far, as {@link ScanStats} counts it. */
  #steps = 0;

  constructor(text: string) {
    this.#text = text;
    this.#truncated = text.length > MAX_HEADER_LENGTH;
    this.#end = this.#truncated ? MAX_HEADER_LENGTH : text.length;
  }

  /** Scans the list one item at a time, up to the end, the cut, or {@link MAX_CHALLENGES}. */
  scan(): AuthChallenge[] {
    while (this.#position < this.#end) {
      if (!this.#afterScheme && !this.#skipEmptyElements()) break;
      if (!this.#readItem()) break;
    }
    return this.#challenges;
  }

  /** The work done so far, as {@link ScanStats} counts it. */
  get steps(): number {
    return this.#steps;
  }

  /** The character code at `i`, or {@link NO_CHARACTER} at or past the end. */
  #codeAt(i: number): number {
    return i < this.#end ? this.#text.charCodeAt(i) : NO_CHARACTER;
  }

  /** Whether a list item ending at `at` is whole: a comma follows, or the header itself ends there (not the cut). */
  #itemEndsAt(at: number): boolean {
    return at < this.#end ? this.#text.charCodeAt(at) === COMMA_SIGN : !this.#truncated;
  }

  /** Skips empty list elements (OWS and commas); false when nothing is left. */
  #skipEmptyElements(): boolean {
    const start = this.#position;
    this.#position = runEnd(this.#text, start, this.#end, WHITESPACE | COMMA);
    this.#steps += this.#position - start + 1;
    return this.#position < this.#end;
  }

  /** Reads the token that opens a list item, and the item it opens: an auth-param or a challenge. */
  #readItem(): boolean {
    const wasAfterScheme = this.#afterScheme;
    this.#afterScheme = false;
    const nameStart = this.#position;
    const nameEnd = runEnd(this.#text, nameStart, this.#end, TCHAR);
    if (nameEnd === nameStart) return this.#skipMalformedItem();
    if (nameEnd === this.#end && this.#truncated) return false; // a token the cut may have shortened
    this.#position = runEnd(this.#text, nameEnd, this.#end, WHITESPACE);
    this.#steps += this.#position - nameStart + 2;
    if (this.#codeAt(this.#position) === EQUALS_SIGN) return this.#readAuthParam(nameStart, nameEnd);
    return this.#readChallengeStart(nameStart, nameEnd, wasAfterScheme);
  }

  /** Reads the rest of `auth-param = token BWS "=" BWS ( token / quoted-string )` from its "=". */
  #readAuthParam(nameStart: number, nameEnd: number): boolean {
    const text = this.#text;
    const end = this.#end;
    const equals = this.#position;
    const valueStart = runEnd(text, equals + 1, end, WHITESPACE);
    const valueEnd =
      this.#codeAt(valueStart) === QUOTE ? quotedEnd(text, valueStart, end) : runEnd(text, valueStart, end, TCHAR);
    if (valueEnd < 0) {
      this.#steps += end - equals; // an unterminated quoted-string runs to the end
      return false;
    }
    this.#position = runEnd(text, valueEnd, end, WHITESPACE);
    this.#steps += this.#position - equals + 3;
    if (valueEnd === valueStart || !this.#itemEndsAt(this.#position)) return this.#skipMalformedItem();
    this.#keepParam(nameStart, nameEnd, valueStart, valueEnd);
    return true;
  }

  /** Keeps an auth-param in the current challenge, if there is one, without a token68, with room, and new to it. */
  #keepParam(nameStart: number, nameEnd: number, valueStart: number, valueEnd: number): void {
    const current = this.#current;
    if (!current || current.token68 !== undefined || this.#paramCount >= MAX_PARAMS) return;
    const text = this.#text;
    const name = text.slice(nameStart, nameEnd).toLowerCase();
    if (current.params[name] !== undefined) return;
    const quoted = text.charCodeAt(valueStart) === QUOTE;
    current.params[name] = quoted ? unquote(text, valueStart, valueEnd) : text.slice(valueStart, valueEnd);
    this.#paramCount++;
  }

  /**
   * Starts a challenge with the auth-scheme from `nameStart` to `nameEnd`, and reads its token68 if it has one. Not a
   * challenge but a malformed item: a token where `scheme 1*SP` wants a token68 or an auth-param, or a scheme followed
   * by something other than whitespace or a comma (`Bearer"x"`).
   */
  #readChallengeStart(nameStart: number, nameEnd: number, wasAfterScheme: boolean): boolean {
    const next = this.#codeAt(this.#position);
    // At the cut, the token may have been an auth-param's name (`name ="value"` cut in the whitespace): stop.
    if (next === NO_CHARACTER && this.#truncated) return false;
    const endsHere = next === NO_CHARACTER || next === COMMA_SIGN;
    if (wasAfterScheme || (this.#position === nameEnd && !endsHere)) return this.#skipMalformedItem();
    if (this.#challenges.length >= MAX_CHALLENGES) return false;
    const challenge: Challenge = {
      scheme: this.#text.slice(nameStart, nameEnd),
      params: Object.create(null) as Record<string, string>,
    };
    this.#current = challenge;
    this.#paramCount = 0;
    this.#challenges.push(challenge);
    return endsHere || this.#readToken68(challenge);
  }

  /**
   * Reads what follows `scheme 1*SP` as `token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`, the
   * challenge's only item. When it is no token68, the position stays, to read it again as the first auth-param.
   */
  #readToken68(challenge: Challenge): boolean {
    const text = this.#text;
    const end = this.#end;
    const start = this.#position;
    const bodyEnd = runEnd(text, start, end, TOKEN68);
    const token68End = runEnd(text, bodyEnd, end, EQUALS);
    const after = runEnd(text, token68End, end, WHITESPACE);
    this.#steps += after - start + 3;
    if (bodyEnd > start && this.#itemEndsAt(after)) {
      challenge.token68 = text.slice(start, token68End);
      this.#position = after;
      return true;
    }
    if (after >= end) return false; // nothing but what the cut reached
    this.#afterScheme = true;
    return true;
  }

  /** Skips the malformed list item at the position, up to the next comma outside quoted-strings. */
  #skipMalformedItem(): boolean {
    const start = this.#position;
    this.#position = itemEnd(this.#text, start, this.#end);
    this.#steps += this.#position - start + 1;
    return true;
  }
}

/**
 * Scans a header value into challenges, in one forward pass. Lenient: empty list elements and OWS wherever a list
 * allows them, BWS around `=`, HTAB where the grammar says SP; a malformed item (an auth-param without a value, an unterminated
 * quoted-string, a token followed by garbage) is skipped up to the next comma outside quotes, and the scan goes on.
 * An auth-param belongs to the challenge before it; one before any challenge, or after a token68, is dropped.
 *
 * The scan only moves forward, but once after each scheme: when what follows `scheme 1*SP` is no token68, it is read
 * again as the first auth-param. So the work is a few steps per character; `stats.steps` counts them.
 *
 * @internal Exported for tests.
 */
export function scanChallenges(text: string, stats?: ScanStats): AuthChallenge[] {
  const scanner = new ChallengeScanner(text);
  const challenges = scanner.scan();
  if (stats) stats.steps += scanner.steps;
  return challenges;
}
