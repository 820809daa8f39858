/**
 * Models from other sites are fetched only after the user says yes.
 *
 * Why: a link (`?model=…`, `?sr=…`, `hf:owner/repo`) would otherwise make the page fetch a
 * manifest, and then gigabytes, from whatever host the link names as soon as the page opens. The
 * question names the host, not the manifest's model id, since that host writes the manifest and can
 * call itself anything. The answer is remembered per origin (scheme, host and port: http and https
 * of one name are different servers) in localStorage, so a trusted host is asked about once.
 *
 * The page's own origin is never asked about (the app's own tiny models, `./models/full/…`).
 */

export type HostChoice = 'allowed' | 'denied';

/** The part of Storage used here; private modes may throw on every call, which is tolerated. */
export type ChoiceStorage = Pick<Storage, 'getItem' | 'setItem'>;

export const MODEL_HOSTS_KEY = 'ldm3d-xr.model-hosts';

export interface ModelHostGate {
  /**
   * The host to ask about before anything is fetched from `baseUrl` (as the panels show it), or
   * null when no question is needed: the page's own origin, or a host allowed before.
   */
  needsAsking(baseUrl: string): string | null;
  /** The user said no to this URL's host before (a link to it then falls back to the built-in model). */
  isDenied(baseUrl: string): boolean;
  /** Records the answer for `baseUrl`'s origin. */
  remember(baseUrl: string, choice: HostChoice): void;
}

/** The origin of an absolute URL, or null when it is not one. */
function originOf(url: string): string | null {
  try {
    const u = new URL(url);
    return u.origin === 'null' ? null : u.origin;
  } catch {
    return null;
  }
}

/** How the question names a host: "huggingface.co"; the scheme too where it is not https. */
export function hostLabel(baseUrl: string): string {
  try {
    const u = new URL(baseUrl);
    return u.protocol === 'https:' ? u.host : `${u.protocol}//${u.host}`;
  } catch {
    return baseUrl;
  }
}

/**
 * A gate for a page at `pageOrigin`. Without storage (or where it throws) answers last for this
 * page only, which still keeps every fetch behind a question.
 */
export function createModelHostGate(pageOrigin: string, storage: ChoiceStorage | null): ModelHostGate {
  const memory = new Map<string, HostChoice>();
  const read = (): Record<string, HostChoice> => {
    try {
      const raw = storage?.getItem(MODEL_HOSTS_KEY);
      const parsed: unknown = raw ? JSON.parse(raw) : {};
      return parsed && typeof parsed === 'object' ? (parsed as Record<string, HostChoice>) : {};
    } catch {
      return {};
    }
  };
  const choiceFor = (origin: string): HostChoice | null => {
    const c = memory.get(origin) ?? read()[origin];
    return c === 'allowed' || c === 'denied' ? c : null;
  };
  /** The origin to ask about, or null for the page's own (or an unparsable URL, which fetch refuses anyway). */
  const foreign = (baseUrl: string): string | null => {
    const origin = originOf(baseUrl);
    return origin !== null && origin !== pageOrigin ? origin : null;
  };
  return {
    needsAsking(baseUrl) {
      const origin = foreign(baseUrl);
      return origin !== null && choiceFor(origin) !== 'allowed' ? hostLabel(baseUrl) : null;
    },
    isDenied(baseUrl) {
      const origin = foreign(baseUrl);
      return origin !== null && choiceFor(origin) === 'denied';
    },
    remember(baseUrl, choice) {
      const origin = foreign(baseUrl);
      if (origin === null) return;
      memory.set(origin, choice);
      try {
        storage?.setItem(MODEL_HOSTS_KEY, JSON.stringify({ ...read(), [origin]: choice }));
      } catch {
        // Private mode or a full quota: the answer holds for this page only.
      }
    },
  };
}

/** The browser's gate for this page (localStorage where there is one). */
export function pageModelHostGate(): ModelHostGate {
  let storage: ChoiceStorage | null = null;
  try {
    storage = typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    storage = null; // some browsers throw on the mere access when storage is blocked
  }
  return createModelHostGate(typeof location === 'undefined' ? '' : location.origin, storage);
}

/** The panels' question (desktop and VR say the same). */
export function hostQuestionText(host: string): string {
  return (
    `This page wants to load a model from ${host}, which is not this site. Only allow it if you trust ${host}: ` +
    'the model name it shows comes from that site. Its size is shown before any large download.'
  );
}

/** Said when a model link's host was declined (now or before) and the built-in model is used instead. */
export function hostDeclinedText(host: string): string {
  return `Nothing is loaded from ${host} (you declined it); the built-in model is used instead.`;
}
