import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { hideNativeXRWithoutDevices } from './xr/native-xr';
import { registerServiceWorker } from './pwa/register';
import './ui/styles.css';

// Must run before the XR store exists (createAppServices creates it): see native-xr.ts.
await hideNativeXRWithoutDevices();
const [{ App }, { createAppServices }, { ServicesProvider }] = await Promise.all([
  import('./app/App'),
  import('./app/services'),
  import('./app/services-context'),
]);

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
registerServiceWorker();
// Once per page, outside React: StrictMode's rehearsal mounts must not create a second worker.
const services = createAppServices();
// A hot update of this module builds new services: end the old worker and subscriptions first.
import.meta.hot?.dispose(() => services.destroy());
createRoot(root).render(
  <StrictMode>
    <ServicesProvider services={services}>
      <App />
    </ServicesProvider>
  </StrictMode>,
);
