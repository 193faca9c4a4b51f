// Uploading a recording straight to Blob storage with the URL the API returns, in blocks,
// with the official SDK: the same code against Azure Storage and devhost's blob endpoint.
import { BlockBlobClient } from "@azure/storage-blob";
import type { WebConfig } from "./auth.js";

export interface UploadDetails { title: string; educator: string; classroom: string; date: string }

const MiB = 1024 * 1024;

export async function uploadFile(uploadUrl: string, file: File, details: UploadDetails, config: WebConfig,
                                 onProgress: (loadedBytes: number) => void, signal?: AbortSignal): Promise<void> {
  const client = new BlockBlobClient(uploadUrl);
  // Blob metadata keys must be C# identifiers; values are sent as headers, so ASCII only.
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(details)) {
    const ascii = value.normalize("NFKD").replace(/[^\x20-\x7e]/g, "").trim();
    if (ascii) metadata[key] = ascii;
  }
  await client.uploadData(file, {
    blockSize: config.upload?.block_bytes ?? 8 * MiB,
    maxSingleShotSize: config.upload?.single_shot_bytes ?? 8 * MiB,
    concurrency: config.upload?.concurrency ?? 4,
    blobHTTPHeaders: { blobContentType: file.type || "application/octet-stream" },
    metadata,
    onProgress: (event) => onProgress(event.loadedBytes),
    abortSignal: signal,
  });
}
