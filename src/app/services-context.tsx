/**
 * The one React context: the app's services (src/app/services.ts), provided once by src/main.tsx.
 * Components under src/app read it with useServices() and hand the ui/ panels what they need as props.
 */
import { createContext, useContext, type ReactNode } from 'react';
import type { AppServices } from './services';

const ServicesContext = createContext<AppServices | null>(null);

export function ServicesProvider({ services, children }: { services: AppServices; children: ReactNode }): ReactNode {
  return <ServicesContext.Provider value={services}>{children}</ServicesContext.Provider>;
}

export function useServices(): AppServices {
  const services = useContext(ServicesContext);
  if (!services) throw new Error('useServices: no <ServicesProvider> above this component (src/main.tsx provides one).');
  return services;
}
