import { useEffect, useRef, useState } from 'react';

/**
 * An object URL for bytes, owned by the component: created in an effect, revoked in its cleanup,
 * so unmounts never leak image memory. `key` names the content (a scene id): the URL is remade
 * only when it changes, not whenever a list refresh hands over an equal copy of the bytes.
 */
export function useObjectUrl(bytes: Uint8Array | null, mimeType: string, key: string): string | null {
  const [url, setUrl] = useState<string | null>(null);
  const latest = useRef(bytes);
  latest.current = bytes;
  useEffect(() => {
    const b = latest.current;
    if (!b) {
      setUrl(null);
      return;
    }
    const u = URL.createObjectURL(new Blob([b as Uint8Array<ArrayBuffer>], { type: mimeType }));
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [key, mimeType]);
  return url;
}
