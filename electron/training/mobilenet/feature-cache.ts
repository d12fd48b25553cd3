// On-disk cache of frozen-base features, so later runs and other heads reuse them.
// One append-only file per key set (base weights id, input size, feature layout); inside it, fixed-size
// records [32-byte key digest | featureDim float32] where the digest is sha256(imageHash, view). Appending
// whole batches makes extraction resumable: after a crash or cancel, complete records are kept and a torn
// trailing record is cut off on the next open. One writer per file at a time (the training worker).
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp, readSync, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { PIXEL_RULE_VERSION } from '../../imaging/image-policy';

/** What a feature was computed from: the image content and which view of it (unaugmented or augmented k). */
export interface FeatureKey {
  /** Content hash of the source image (the catalogue's hash). */
  imageHash: string;
  /** `ORIGINAL_VIEW`, or `augmentedViewKey(signature, k)` for the k-th fixed augmented view. */
  view: string;
}

export const ORIGINAL_VIEW = 'original';

/**
 * Key of the k-th cached augmented view. `augmentationSignature` must identify everything that changes the
 * pixels (augmentation settings and seed scheme), so changing the settings never reuses stale features.
 */
export function augmentedViewKey(augmentationSignature: string, k: number): string {
  return `aug:${augmentationSignature}:${k}`;
}

export interface FeatureCacheParams {
  weightsId: string;
  imageSize: number;
  featureDim: number;
  /** Names what the vector holds, e.g. `max+avg`; part of the file name. */
  layout: string;
}

const MAGIC = Buffer.from('PPFEATS1', 'ascii');
const VERSION = 1;
const HEADER_BYTES = 64;
const KEY_BYTES = 32;

export function featureKeyDigest(key: FeatureKey): Buffer {
  return createHash('sha256').update(key.imageHash).update('\0').update(key.view).digest();
}

function encodeHeader(p: FeatureCacheParams): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(h, 0);
  h.writeUInt32LE(VERSION, 8);
  h.writeUInt32LE(p.featureDim, 12);
  h.writeUInt32LE(p.imageSize, 16);
  Buffer.from(createHash('sha256').update(`${p.weightsId}\0${p.layout}`).digest()).copy(h, 24);
  return h;
}

export class FeatureCache {
  private readonly index = new Map<string, number>(); // digest hex -> record number
  private records = 0;
  private closed = false;
  private sliceBytesRead = 0;
  private writeQueue: Promise<void> = Promise.resolve();

  private constructor(
    readonly filePath: string,
    readonly params: FeatureCacheParams,
    private readonly fh: FileHandle,
  ) {}

  get recordBytes(): number {
    return KEY_BYTES + this.params.featureDim * 4;
  }

  /** Number of distinct keys stored. */
  get size(): number {
    return this.index.size;
  }

  static fileNameFor(p: FeatureCacheParams): string {
    const safeLayout = p.layout.replace(/[^A-Za-z0-9+._-]/g, '_');
    // The pixel rule is part of the name: features of images decoded under another rule (p1: before transparency
    // was flattened on white; p2: sharp's resize, before the bilinear recipe of p3) must never be reused.
    return `mobilenet-v2-${p.weightsId.slice(0, 16)}-${p.imageSize}px-${safeLayout}-d${p.featureDim}-p${PIXEL_RULE_VERSION}.features`;
  }

  /** Opens (or creates) the cache file for this key set in `dir`, indexing the complete records found. */
  static async open(dir: string, params: FeatureCacheParams): Promise<FeatureCache> {
    if (!Number.isInteger(params.featureDim) || params.featureDim <= 0) throw new Error(`Invalid feature dimension ${params.featureDim}`);
    await fsp.mkdir(dir, { recursive: true });
    const filePath = path.join(dir, FeatureCache.fileNameFor(params));
    const header = encodeHeader(params);
    let fh = await fsp.open(filePath, 'a+');
    let st: Stats = await fh.stat();
    if (st.size >= HEADER_BYTES) {
      const got = Buffer.alloc(HEADER_BYTES);
      await fh.read(got, 0, HEADER_BYTES, 0);
      if (!got.equals(header)) {
        // Foreign or damaged header (or a 16-hex-digit id prefix collision): keep it aside, start afresh.
        await fh.close();
        await fsp.rename(filePath, `${filePath}.invalid-${randomBytes(3).toString('hex')}`);
        fh = await fsp.open(filePath, 'a+');
        st = await fh.stat();
      }
    }
    if (st.size < HEADER_BYTES) {
      await fh.truncate(0);
      await fh.write(header, 0, HEADER_BYTES, null);
      await fh.datasync();
      st = await fh.stat();
    }
    const cache = new FeatureCache(filePath, params, fh);
    await cache.scan(st.size);
    return cache;
  }

  private async scan(fileSize: number): Promise<void> {
    const rb = this.recordBytes;
    const complete = Math.floor((fileSize - HEADER_BYTES) / rb);
    const end = HEADER_BYTES + complete * rb;
    if (end !== fileSize) await this.fh.truncate(end); // a torn record from an interrupted append
    const perChunk = Math.max(1, Math.floor((8 << 20) / rb));
    const buf = Buffer.alloc(perChunk * rb);
    for (let r = 0; r < complete; r += perChunk) {
      const n = Math.min(perChunk, complete - r);
      await this.fh.read(buf, 0, n * rb, HEADER_BYTES + r * rb);
      for (let i = 0; i < n; i++) {
        this.index.set(buf.toString('hex', i * rb, i * rb + KEY_BYTES), r + i);
      }
    }
    this.records = complete;
  }

  has(key: FeatureKey): boolean {
    return this.index.has(featureKeyDigest(key).toString('hex'));
  }

  /**
   * Copies the cached features of `keys` into `out` (row i at i * featureDim). Returns, per key, whether it
   * was found; rows of missing keys are left untouched.
   */
  async readInto(keys: FeatureKey[], out: Float32Array, rowOffset = 0): Promise<boolean[]> {
    this.assertOpen();
    const dim = this.params.featureDim;
    const rb = this.recordBytes;
    const found = keys.map(() => false);
    const wanted = keys
      .map((k, i) => ({ i, rec: this.index.get(featureKeyDigest(k).toString('hex')) }))
      .filter((w): w is { i: number; rec: number } => w.rec !== undefined)
      .sort((a, b) => a.rec - b.rec);
    const buf = Buffer.alloc(dim * 4);
    const asF32 = new Float32Array(buf.buffer, buf.byteOffset, dim);
    for (const { i, rec } of wanted) {
      await this.fh.read(buf, 0, dim * 4, HEADER_BYTES + rec * rb + KEY_BYTES);
      out.set(asF32, (rowOffset + i) * dim);
      found[i] = true;
    }
    return found;
  }

  /**
   * The record number of each key, or -1 where it is not cached: a run resolves its keys once (one sha256 each) and
   * then reads rows by number, instead of hashing every key of every batch again.
   */
  resolve(keys: readonly FeatureKey[]): Int32Array {
    this.assertOpen();
    return Int32Array.from(keys, (key) => this.index.get(featureKeyDigest(key).toString('hex')) ?? -1);
  }

  /** Bytes read by readSlices/readSlicesSync since the cache was opened (benches and tests watch what a batch costs). */
  get bytesRead(): number {
    return this.sliceBytesRead;
  }

  /**
   * Copies `length` floats starting at float `offset` of each record in `records` (resolve's numbers) into `out`, row
   * j at j * length: a head that uses one pooling reads only its half of each 2 x 1280 row. Positioned reads on
   * libuv's threads, so a batch read ahead overlaps the training step.
   */
  async readSlices(records: ArrayLike<number>, offset: number, length: number, out: Float32Array): Promise<void> {
    const bytes = this.checkSlices(records, offset, length, out);
    const reads: Array<Promise<void>> = [];
    for (let j = 0; j < records.length; j++) {
      reads.push(this.fh.read(bytes, j * length * 4, length * 4, this.slicePosition(records[j], offset)).then(({ bytesRead }) => {
        this.checkRead(bytesRead, length, records[j]);
      }));
    }
    await Promise.all(reads);
  }

  /** readSlices with synchronous reads, for a batch nobody prepared (the trainer always prepares its batches). */
  readSlicesSync(records: ArrayLike<number>, offset: number, length: number, out: Float32Array): void {
    const bytes = this.checkSlices(records, offset, length, out);
    for (let j = 0; j < records.length; j++) {
      this.checkRead(readSync(this.fh.fd, bytes, j * length * 4, length * 4, this.slicePosition(records[j], offset)), length, records[j]);
    }
  }

  private checkSlices(records: ArrayLike<number>, offset: number, length: number, out: Float32Array): Buffer {
    this.assertOpen();
    const dim = this.params.featureDim;
    if (offset < 0 || length < 0 || offset + length > dim) throw new Error(`FeatureCache: floats ${offset}..${offset + length} are outside a ${dim}-float record`);
    if (out.length < records.length * length) throw new Error(`FeatureCache: ${records.length} rows need ${records.length * length} values, got ${out.length}`);
    for (let j = 0; j < records.length; j++) {
      if (!(records[j] >= 0 && records[j] < this.records)) throw new Error(`FeatureCache: record ${records[j]} is not in the cache`);
    }
    return Buffer.from(out.buffer, out.byteOffset, records.length * length * 4);
  }

  private slicePosition(record: number, offset: number): number {
    return HEADER_BYTES + record * this.recordBytes + KEY_BYTES + offset * 4;
  }

  private checkRead(bytesRead: number, length: number, record: number): void {
    this.sliceBytesRead += bytesRead;
    if (bytesRead !== length * 4) throw new Error(`the feature cache ${this.filePath} is shorter than its index (record ${record}); run again to rebuild it`);
  }

  /** Appends one record per key (rows of `features`, featureDim each) in a single write, then syncs. */
  async append(keys: FeatureKey[], features: Float32Array): Promise<void> {
    this.assertOpen();
    const dim = this.params.featureDim;
    if (features.length !== keys.length * dim) {
      throw new Error(`FeatureCache.append: ${keys.length} keys need ${keys.length * dim} values, got ${features.length}`);
    }
    const rb = this.recordBytes;
    const buf = Buffer.alloc(keys.length * rb);
    keys.forEach((k, i) => {
      featureKeyDigest(k).copy(buf, i * rb);
      const row = features.subarray(i * dim, (i + 1) * dim);
      Buffer.from(row.buffer, row.byteOffset, row.byteLength).copy(buf, i * rb + KEY_BYTES);
    });
    // Serialise appends so record numbers in the index match the file even if callers don't await.
    const op = this.writeQueue.then(async () => {
      await this.fh.write(buf, 0, buf.length, null);
      await this.fh.datasync();
      keys.forEach((k, i) => this.index.set(featureKeyDigest(k).toString('hex'), this.records + i));
      this.records += keys.length;
    });
    this.writeQueue = op.catch(() => undefined);
    return op;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writeQueue;
    await this.fh.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('FeatureCache is closed');
  }
}
