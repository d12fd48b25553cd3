/** A file the hosts may stream to the UI, found by catalogue id only: the UI never names a path on disk. */
export interface MediaFile {
  path: string;
  contentType: string;
  /**
   * The body, when the resolver already read and checked it (an image verified against its catalogue hash). Hosts
   * should send these bytes rather than read `path` again, so what is served is exactly what was checked; `path` stays
   * for hosts that stream from disk.
   */
  bytes?: Buffer;
}

export type MediaResolver = (id: string) => Promise<MediaFile | null>;

/** Media kinds ("image", "thumb", ...) are registered by the services that own them; hosts only look them up. */
export class MediaRegistry {
  private readonly resolvers = new Map<string, MediaResolver>();

  register(kind: string, resolver: MediaResolver): void {
    if (!/^[a-z][a-z0-9-]*$/.test(kind)) throw new Error(`Bad media kind: ${kind}`);
    this.resolvers.set(kind, resolver);
  }

  async resolve(kind: string, id: string): Promise<MediaFile | null> {
    const resolver = this.resolvers.get(kind);
    if (!resolver || !/^[A-Za-z0-9_-]{1,128}$/.test(id)) return null;
    return resolver(id);
  }
}
