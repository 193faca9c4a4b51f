// Uploading a recording straight to Blob storage with the URL the API returns, in blocks,
// with the official SDK: the same code against Azure Storage and devhost's blob endpoint.
//
// Blocks are staged one by one (Put Block, a few at a time) and committed with Put Block
// List, rather than through the SDK's uploadData, so that an upload cut off part-way can
// resume: the blocks Storage already acknowledged are not sent again (the SDK retries each
// request a few times by itself; this covers a connection that stays down longer). A file
// no bigger than one block goes up in one Put Blob.
import { AnonymousCredential, BlockBlobClient, newPipeline } from "@azure/storage-blob";
import type { WebConfig } from "./auth.js";

export interface UploadDetails { title: string; educator: string; classroom: string; date: string }

const MiB = 1024 * 1024;

/** What an upload has done so far; pass it to resume() after a failure. */
export interface UploadState {
  readonly url: string;
  readonly file: File;
  readonly blockIds: string[];
  readonly done: Set<number>;
  readonly metadata: Record<string, string>;
}

export class UploadInterrupted extends Error {
  constructor(readonly state: UploadState, cause: unknown) {
    super(`the upload stopped after ${state.done.size} of ${state.blockIds.length} blocks ` +
          `(${(cause as Error)?.message ?? cause}); resume it to send the rest`);
    this.name = "UploadInterrupted";
  }
}

/** Block ids must all have the same length: base64 of a zero-padded index. */
export function blockId(index: number): string {
  return btoa(`block-${String(index).padStart(6, "0")}`);
}

/** Blob metadata travels as headers: ASCII only, and keys must be identifiers. */
export function blobMetadata(details: UploadDetails): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(details)) {
    const ascii = value.normalize("NFKD").replace(/[^\x20-\x7e]/g, "").trim();
    if (ascii) metadata[key] = ascii;
  }
  return metadata;
}

function client(url: string): BlockBlobClient {
  return new BlockBlobClient(url, newPipeline(new AnonymousCredential(), {
    retryOptions: { maxTries: 3, retryDelayInMs: 500, maxRetryDelayInMs: 4000 },
  }));
}

export function startUpload(url: string, file: File, details: UploadDetails, config: WebConfig): UploadState {
  const blockBytes = config.upload?.block_bytes ?? 8 * MiB;
  const singleShot = config.upload?.single_shot_bytes ?? blockBytes;
  const count = file.size <= singleShot ? 0 : Math.ceil(file.size / blockBytes);
  return { url, file, blockIds: Array.from({ length: count }, (_, i) => blockId(i)), done: new Set(),
           metadata: blobMetadata(details) };
}

/** Send what is not sent yet, then commit. Throws UploadInterrupted (with the state to resume) on failure. */
export async function sendUpload(state: UploadState, config: WebConfig, onProgress: (loadedBytes: number) => void,
                                 signal?: AbortSignal): Promise<void> {
  const blob = client(state.url);
  const headers = { blobContentType: state.file.type || "application/octet-stream" };
  if (!state.blockIds.length) {
    await blob.upload(state.file, state.file.size, { blobHTTPHeaders: headers, metadata: state.metadata,
      onProgress: (e) => onProgress(e.loadedBytes), abortSignal: signal });
    return;
  }
  const blockBytes = config.upload?.block_bytes ?? 8 * MiB;
  const sizeOf = (i: number) => Math.min(blockBytes, state.file.size - i * blockBytes);
  const inFlight = new Map<number, number>();
  const report = () => {
    let loaded = 0;
    for (const i of state.done) loaded += sizeOf(i);
    for (const bytes of inFlight.values()) loaded += bytes;
    onProgress(loaded);
  };
  const pending = state.blockIds.map((_, i) => i).filter((i) => !state.done.has(i));
  const worker = async () => {
    for (let i = pending.shift(); i !== undefined; i = pending.shift()) {
      const part = state.file.slice(i * blockBytes, i * blockBytes + sizeOf(i));
      inFlight.set(i, 0);
      try {
        await blob.stageBlock(state.blockIds[i], part, part.size, { abortSignal: signal,
          onProgress: (e) => { inFlight.set(i, e.loadedBytes); report(); } });
      } catch (error) {
        pending.length = 0;  // the others finish the block they are on, then stop
        throw error;
      } finally {
        inFlight.delete(i);
      }
      state.done.add(i);
      report();
    }
  };
  try {
    const outcomes = await Promise.allSettled(Array.from({ length: config.upload?.concurrency ?? 4 }, worker));
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
    if (failed) throw failed.reason;
    await blob.commitBlockList(state.blockIds, { blobHTTPHeaders: headers, metadata: state.metadata, abortSignal: signal });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new UploadInterrupted(state, error);
  }
}
