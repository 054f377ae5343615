import { create } from 'zustand';
import type { Capabilities, ProviderPreference } from '../runtime/capabilities';

export interface RuntimeState {
  readonly capabilities: Capabilities | null;
  readonly providerPreference: ProviderPreference;
  /** Why the inference worker failed (its script did not load, it crashed), or null while it works. */
  readonly workerFailure: string | null;
  setCapabilities: (c: Capabilities) => void;
  setProviderPreference: (p: ProviderPreference) => void;
  setWorkerFailure: (message: string | null) => void;
  clear: () => void;
}

/** Capability probe result and the user's provider choice. */
export const useRuntimeStore = create<RuntimeState>()((set) => ({
  capabilities: null,
  providerPreference: 'auto',
  workerFailure: null,
  setCapabilities: (capabilities) => set({ capabilities }),
  setProviderPreference: (providerPreference) => set({ providerPreference }),
  setWorkerFailure: (workerFailure) => set({ workerFailure }),
  clear: () => set({ capabilities: null, providerPreference: 'auto', workerFailure: null }),
}));
