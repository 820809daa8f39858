/**
 * Writes the generation store's transient progress (fraction, label, preview) straight to DOM
 * nodes from a store subscription: a diffusion step or a download tick re-renders nothing.
 */
import { useEffect, type RefObject } from 'react';
import type { GenerationProgress, GenerationStore } from '../../state/generation';

export function useTransientProgress(
  store: GenerationStore,
  bar: RefObject<HTMLProgressElement | null>,
  label: RefObject<HTMLElement | null>,
  preview: RefObject<HTMLCanvasElement | null>,
): void {
  useEffect(() => {
    let shownPreview: GenerationProgress['preview'] = null;
    const apply = (p: GenerationProgress | null): void => {
      if (bar.current) {
        if (p === null) bar.current.removeAttribute('value'); // indeterminate
        else bar.current.value = p.fraction;
      }
      if (label.current) label.current.textContent = p?.text ?? '';
      const canvas = preview.current;
      const img = p?.preview ?? null;
      if (canvas && img !== shownPreview) {
        shownPreview = img;
        canvas.hidden = img === null;
        if (img) {
          if (canvas.width !== img.width || canvas.height !== img.height) {
            canvas.width = img.width;
            canvas.height = img.height;
          }
          // Copy into a fresh ImageData: the store's array may be shared with the sphere's texture.
          const data = new ImageData(img.width, img.height);
          data.data.set(img.rgba);
          canvas.getContext('2d')?.putImageData(data, 0, 0);
        }
      }
    };
    apply(store.getState().progress);
    return store.subscribe((s, prev) => {
      if (s.progress !== prev.progress) apply(s.progress);
    });
  }, [store, bar, label, preview]);
}
