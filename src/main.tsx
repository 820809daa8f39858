import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { hideNativeXRWithoutDevices } from './xr/native-xr';
import { registerServiceWorker } from './pwa/register';
import './ui/styles.css';

// Must run before the XR store exists (App creates it at import time): see native-xr.ts.
await hideNativeXRWithoutDevices();
const { App } = await import('./app/App');

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
registerServiceWorker();
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
