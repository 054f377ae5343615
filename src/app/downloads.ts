/** Saves bytes as a file download (an object URL; nothing leaves the browser). */
export function saveBytes(name: string, bytes: Uint8Array | Blob, type = 'application/octet-stream'): void {
  const blob = bytes instanceof Blob ? bytes : new Blob([bytes as Uint8Array<ArrayBuffer>], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => {
    URL.revokeObjectURL(url);
  }, 10_000);
}

export async function fileToInput(f: File): Promise<{ name: string; bytes: Uint8Array }> {
  const name = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
  return { name, bytes: new Uint8Array(await f.arrayBuffer()) };
}
