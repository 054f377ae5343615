/**
 * The production response headers, in one place: vite preview sends them (vite.config.ts), the e2e suite
 * runs under them, and docs/deployment.md shows the same set for nginx.
 *
 * - COOP/COEP make the page cross-origin isolated, which is what lets onnxruntime-web use threads.
 * - The CSP allows scripts only from this origin plus WebAssembly compilation ('wasm-unsafe-eval', needed by
 *   onnxruntime-web and the DICOM codecs), workers from this origin (and blob:, which onnxruntime-web's
 *   threaded build may use), and network connections only to this origin and the model host(s). The app
 *   needs nothing else: no inline scripts, no eval, no third-party styles or fonts. Inline styles are
 *   allowed (plotly.js injects <style> elements), which is the one relaxation the build proved it needs.
 */

/** Hugging Face serves `resolve/` URLs from huggingface.co and redirects large files to its CDNs. */
export const DEFAULT_MODEL_ORIGINS = [
  'https://huggingface.co',
  'https://*.huggingface.co',
  'https://*.hf.co',
];

export function contentSecurityPolicy(modelOrigins: readonly string[], reportUri?: string): string {
  const directives = [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self' blob:",
    `connect-src 'self' ${modelOrigins.join(' ')}`,
    // Candidate thumbnails and screenshot previews are canvas data:/blob: URLs.
    "img-src 'self' data: blob:",
    // Relaxed because the build needs it (the e2e suite reported it): plotly.js injects its style rules as
    // <style> elements at run time. Inline styles cannot run script.
    "style-src 'self' 'unsafe-inline'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ];
  if (reportUri) directives.push(`report-uri ${reportUri}`);
  return directives.join('; ');
}

export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
} as const;

/**
 * Model origins come from `CSP_MODEL_ORIGINS` (space-separated) when set — a hospital mirror, or the local
 * fixture host in e2e — else Hugging Face.
 */
export function modelOriginsFromEnv(env: Record<string, string | undefined>): string[] {
  const v = env['CSP_MODEL_ORIGINS']?.trim();
  return v ? v.split(/\s+/) : DEFAULT_MODEL_ORIGINS;
}

export function productionHeaders(
  modelOrigins: readonly string[],
  reportUri?: string,
): Record<string, string> {
  return {
    ...ISOLATION_HEADERS,
    'Content-Security-Policy': contentSecurityPolicy(modelOrigins, reportUri),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
  };
}
