import { useEffect, useState } from 'react';

/**
 * An object URL for bytes, owned by the component: created in an effect, revoked in its cleanup,
 * so list re-renders and unmounts never leak image memory.
 */
export function useObjectUrl(bytes: Uint8Array | null, mimeType: string): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!bytes) {
      setUrl(null);
      return;
    }
    const u = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mimeType }));
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [bytes, mimeType]);
  return url;
}
