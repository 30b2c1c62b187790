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

/** Replaces every occurrence of each secret in `text`, then caps its length. */
export function scrub(text: string, secrets: readonly string[], maxLength = 500): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  return out.length > maxLength ? `${out.slice(0, maxLength)}…` : out;
}
