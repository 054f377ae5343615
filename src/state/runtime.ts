import { create } from 'zustand';
import type { Capabilities, ProviderPreference } from '../runtime/capabilities';

export interface RuntimeState {
  readonly capabilities: Capabilities | null;
  readonly providerPreference: ProviderPreference;
  setCapabilities: (c: Capabilities) => void;
  setProviderPreference: (p: ProviderPreference) => void;
  clear: () => void;
}

/** Capability probe result and the user's provider choice. */
export const useRuntimeStore = create<RuntimeState>()((set) => ({
  capabilities: null,
  providerPreference: 'auto',
  setCapabilities: (capabilities) => set({ capabilities }),
  setProviderPreference: (providerPreference) => set({ providerPreference }),
  clear: () => set({ capabilities: null, providerPreference: 'auto' }),
}));
