import { chooseProvider, type ProviderPreference } from '../runtime/capabilities';
import { useRuntimeStore } from '../state/runtime';

/** Which backend runs, always visible: provider, threads, cross-origin isolation and any degradation. */
export function BackendStatus() {
  const caps = useRuntimeStore((s) => s.capabilities);
  const pref = useRuntimeStore((s) => s.providerPreference);
  const setPref = useRuntimeStore((s) => s.setProviderPreference);
  const workerFailure = useRuntimeStore((s) => s.workerFailure);
  const failure = workerFailure && (
    <span className="pill warn" data-testid="backend-worker-failed" role="alert">
      {workerFailure}
    </span>
  );
  if (!caps)
    return (
      <div className="backend" data-testid="backend-status">
        Probing the browser…
        {failure}
      </div>
    );
  const choice = chooseProvider(caps.webgpu, pref);
  const notices = [...caps.notices, ...(choice.notice ? [choice.notice] : [])];
  const gpu = caps.webgpu;
  return (
    <div className="backend" data-testid="backend-status">
      <span className="pill" data-testid="backend-provider" title={gpu.adapter ?? gpu.reason ?? ''}>
        {choice.provider === 'webgpu' ? 'WebGPU' : 'WebAssembly'}
      </span>
      <span className="pill" data-testid="backend-threads">
        {caps.threads} thread{caps.threads === 1 ? '' : 's'}
      </span>
      <span className={`pill ${caps.crossOriginIsolated ? 'ok' : 'warn'}`} data-testid="backend-isolation">
        {caps.crossOriginIsolated ? 'cross-origin isolated' : 'not isolated'}
      </span>
      <span className="pill" data-testid="backend-webgpu">
        WebGPU adapter:{' '}
        {gpu.available ? `${gpu.adapter ?? 'found'}${gpu.isSoftware ? ' (software)' : ''}` : 'none'}
      </span>
      <label className="inline">
        run on
        <select
          value={pref}
          onChange={(e) => setPref(e.target.value as ProviderPreference)}
          data-testid="provider-select"
          aria-label="Execution provider"
        >
          <option value="auto">auto</option>
          <option value="webgpu" disabled={!gpu.available}>
            WebGPU
          </option>
          <option value="wasm">WebAssembly</option>
        </select>
      </label>
      {failure}
      {notices.length > 0 && (
        <ul className="notices" data-testid="backend-notices">
          {notices.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
