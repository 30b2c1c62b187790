import { ConfigurationError } from '../errors.js';
import { checkResource, checkScope } from '../option-checks.js';
import type { ResolvedOptions } from '../options.js';
import type { TokenSelection } from './token-provider.js';

/** The entry key of the provider's own scope and resource (its `scope` and `resource` options). */
export const DEFAULT = '';

/** A selection, checked and normalised, and the key of its entry. */
export interface Selected {
  scope: readonly string[];
  resource: readonly string[];
  key: string;
}

/**
 * Per-request scope and resource selections (issue 13): checked as the options are, normalised (order and
 * repeats do not matter) and keyed; remembered by their raw value, so a selection seen before costs one lookup.
 */
export class Selections {
  readonly #options: ResolvedOptions;
  readonly #seen = new Map<string, Selected>();
  readonly #ownKey: string;

  constructor(options: ResolvedOptions) {
    this.#options = options;
    this.#ownKey = JSON.stringify([normalised(options.scope), normalised(options.resource)]);
  }

  /** The selection checked and normalised, with its entry key ({@link DEFAULT} for the provider's own). */
  select(selection: TokenSelection): Selected {
    // A scope string alone (the common case) is its own cache key; anything else is keyed by its JSON.
    const raw =
      typeof selection.scope === 'string' && selection.resource === undefined
        ? selection.scope
        : JSON.stringify([selection.scope ?? null, selection.resource ?? null]);
    let selected = this.#seen.get(raw);
    if (!selected) {
      const o = this.#options;
      const scope = selection.scope === undefined ? o.scope : normalised(this.#allowed(checkScope(selection.scope)));
      const resource =
        selection.resource === undefined ? o.resource : normalised(checkResource(selection.resource, 'resource'));
      const key = JSON.stringify([normalised(scope), normalised(resource)]);
      selected = { scope, resource, key: key === this.#ownKey ? DEFAULT : key };
      if (this.#seen.size >= 256) this.#seen.clear();
      this.#seen.set(raw, selected);
    }
    return selected;
  }

  /** `scope`, when every one is among `allowedScopes` (if set). */
  #allowed(scope: string[]): string[] {
    const { allowedScopes } = this.#options;
    const refused = allowedScopes && scope.find((s) => !allowedScopes.includes(s));
    if (refused !== undefined) {
      throw new ConfigurationError(
        `scope ${JSON.stringify(refused)} is not among this provider's allowedScopes (${allowedScopes?.join(' ') ?? ''}); nothing was sent.`,
      );
    }
    return scope;
  }
}

/** Sorted, without repeats: one entry however a caller orders or repeats them. */
function normalised(values: readonly string[]): readonly string[] {
  return Object.freeze([...new Set(values)].sort());
}
