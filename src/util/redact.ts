import { Buffer } from 'node:buffer';
import { basicCredentials } from '../grant/client-auth.js';

/** Marker that replaces a secret wherever the library shows a value. */
export const REDACTED = '[REDACTED]';

/**
 * Forms of a secret shorter than this are replaced only where they stand alone, not inside a longer run of
 * letters or digits: searched for as substrings, they would match ordinary words everywhere, shred the text,
 * and by the gaps they leave, show the secret anyway. (A secret that short protects little: prefer 32 random
 * bytes.) The longer forms built from it (`id:secret`, base64, the Basic value) are always searched for.
 */
export const MIN_SUBSTRING_LENGTH = 4;

/** Defines `key` on `target` as a non-enumerable property, so logs and `JSON.stringify` skip it. */
export function hideProperty(target: object, key: PropertyKey, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: false, writable: true, configurable: true });
}

/**
 * A URL as messages and events show it: origin and path, without user info,
 * query or fragment, which may carry keys.
 */
export function displayUrl(url: string | undefined): string {
  if (!url) return '(no url)';
  try {
    const parsed = new URL(url);
    return parsed.origin + parsed.pathname;
  } catch {
    return url.replace(/[?#].*$/s, '');
  }
}

/** base64 and base64url of `text` (UTF-8), each with and without padding. */
function base64Forms(text: string): string[] {
  const bytes = Buffer.from(text, 'utf8');
  const standard = bytes.toString('base64');
  const url = bytes.toString('base64url');
  return [standard, standard.replace(/=+$/, ''), url, url.padEnd(Math.ceil(url.length / 4) * 4, '=')];
}

/** `encodeURIComponent`, or `''` for a string it cannot encode (a lone surrogate): building the list never throws. */
function percentEncode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return '';
  }
}

/** The secret as a JSON string's content: as `JSON.stringify` escapes it, and with every non-ASCII character as `\uXXXX` too. */
function jsonForms(secret: string): string[] {
  const escaped = JSON.stringify(secret).slice(1, -1);
  const ascii = (upper: boolean): string =>
    escaped.replace(/[^\x20-\x7e]/g, (c) => {
      const hex = c.charCodeAt(0).toString(16).padStart(4, '0');
      return `\\u${upper ? hex.toUpperCase() : hex}`;
    });
  return [escaped, ascii(false), ascii(true)];
}

/**
 * Every representation of a client's credentials that the library sends or that a server may echo:
 * - the secret raw, form-encoded (`client_secret_post`, RFC 6749 Appendix B) and percent-encoded;
 * - `id:secret` raw and with both parts form-encoded (what Basic encodes, RFC 6749 §2.3.1);
 * - base64 and base64url, with and without padding, of both `id:secret` forms and of the secret alone;
 * - the secret JSON-escaped (as `JSON.stringify` writes it, and with `\uXXXX` escapes);
 * - the `Basic …` header value.
 *
 * Longest first, so a longer form is replaced before a shorter one inside it. The client id alone is not
 * in the list: it is not a secret. Every text a server sent goes through {@link scrub} with this list.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 */
export function credentialForms(clientId: string, clientSecret: string): string[] {
  const basic = basicCredentials(clientId, clientSecret);
  // The form-encoded `id:secret` exactly as sent: decoded from the Basic value, so the two can never disagree.
  const formPair = Buffer.from(basic.slice('Basic '.length), 'base64').toString('utf8');
  // A form-encoded id has no `:` (it becomes %3A), so the secret's form is everything after the first one.
  const formSecret = formPair.slice(formPair.indexOf(':') + 1);
  const rawPair = `${clientId}:${clientSecret}`;
  const forms = [
    clientSecret,
    formSecret,
    percentEncode(clientSecret),
    rawPair,
    formPair,
    basic,
    ...base64Forms(rawPair),
    ...base64Forms(formPair),
    ...base64Forms(clientSecret),
    ...jsonForms(clientSecret),
  ];
  return [...new Set(forms)].filter((form) => form.length > 0).sort((a, b) => b.length - a.length);
}

/** `text` decoded as form/percent encoding, up to three times over (servers echo what they got, sometimes encoded twice). */
function decodings(text: string): string[] {
  const forms = [text];
  let current = text;
  for (let i = 0; i < 3; i++) {
    let next: string;
    try {
      next = decodeURIComponent(current.replace(/\+/g, ' '));
    } catch {
      break;
    }
    if (next === current) break;
    forms.push(next);
    current = next;
  }
  return forms;
}

/** A short form, matched only where no letter or digit touches it on either side. */
function standalone(form: string): RegExp {
  const escaped = form.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
  return new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])`, 'gu');
}

function replaceForm(text: string, form: string): string {
  if (form.length >= MIN_SUBSTRING_LENGTH) return text.split(form).join(REDACTED);
  return text.replace(standalone(form), REDACTED);
}

function containsForm(text: string, form: string): boolean {
  if (form.length >= MIN_SUBSTRING_LENGTH) return text.includes(form);
  return standalone(form).test(text);
}

/**
 * The parts of base64 and base64url of `form` that stay the same wherever `form` sits inside a longer encoded
 * text: for each of the three byte alignments, the characters that carry bits of `form` only (the first ones
 * also carry bits of what precedes, the last partial group bits of what follows). Found anywhere in a text,
 * they show base64 of something that quotes the secret (all but at most its last two bytes).
 */
function base64Fragments(form: string): string[] {
  const bytes = Buffer.from(form, 'utf8');
  const fragments: string[] = [];
  for (const [pad, skip] of [
    [0, 0],
    [1, 2],
    [2, 3],
  ] as const) {
    const padded = Buffer.concat([Buffer.alloc(pad), bytes]);
    const fragment = padded.toString('base64').slice(skip, Math.floor(padded.length / 3) * 4);
    if (fragment.length >= MIN_SUBSTRING_LENGTH)
      fragments.push(fragment, fragment.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return fragments;
}

/**
 * Replaces every occurrence of each secret form in `text` (pass {@link credentialForms}), then caps
 * the length: replaced before the cut, so a secret across the cut never survives in part.
 * If a secret still shows once the text is percent-decoded (up to three times), or base64 of a text holding
 * it shows (an echo in an encoding not listed), the whole text is withheld: `[REDACTED]`.
 * Forms shorter than {@link MIN_SUBSTRING_LENGTH} are matched only where they stand alone.
 */
export function scrub(text: string, secrets: readonly string[], maxLength = 500): string {
  const forms = [...secrets].filter((form) => form.length > 0).sort((a, b) => b.length - a.length);
  let out = text;
  for (const form of forms) out = replaceForm(out, form);
  // A form holding another is found through the other's fragments: only the innermost ones are encoded.
  const long = forms.filter((form) => form.length >= MIN_SUBSTRING_LENGTH);
  const innermost = long.filter((form) => !long.some((other) => other.length < form.length && form.includes(other)));
  const fragments = [...new Set(innermost.flatMap(base64Fragments))];
  const shows = (decoded: string): boolean =>
    forms.some((form) => containsForm(decoded, form)) || fragments.some((fragment) => decoded.includes(fragment));
  if (decodings(out).some(shows)) return REDACTED;
  return out.length > maxLength ? `${out.slice(0, maxLength)}…` : out;
}
