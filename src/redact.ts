/** Marker that replaces a secret wherever the library shows a value. */
export const REDACTED = '[REDACTED]';

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

/**
 * Replaces every occurrence of each secret in `text`, then caps its length.
 * If a secret still shows once the text is percent-decoded (an echo in some
 * other encoding), the whole text is withheld.
 */
export function scrub(text: string, secrets: readonly string[], maxLength = 500): string {
  let out = text;
  const relevant = secrets.filter((secret) => secret.length >= 4);
  for (const secret of relevant) out = out.split(secret).join(REDACTED);
  if (decodings(out).some((form) => relevant.some((secret) => form.includes(secret)))) return REDACTED;
  return out.length > maxLength ? `${out.slice(0, maxLength)}…` : out;
}
