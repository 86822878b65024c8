package io.pairkit.control;

import java.util.List;

/**
 * The control endpoint's JSON documents (pairkitd serves them, pairctl reads them). Paths, all
 * under {@code /v1}:
 * <pre>
 * GET    /health                           Health
 * GET    /volumes                          [VolumeView]
 * GET    /volumes/NAME                     VolumeView
 * GET    /pairs                            [PairView]
 * GET    /pairs/ID                         PairView
 * POST   /pairs                 CreatePair PairView   (201)
 * POST   /pairs/ID/requests     Request    RequestView (202)
 * GET    /pairs/ID/requests/N             RequestView (running, done, failed or cancelled)
 * DELETE /pairs/ID[?force=true]            PairView
 * POST   /verify                Verify     VerifyResult
 * </pre>
 * Errors answer {@link ErrorView} with 400 (bad input), 403 (a request from a browser or with a
 * foreign Host header), 404 (no such volume, pair or request), 409 (wrong state), 415 (a
 * mutating call without {@code Content-Type: application/json}), 500 (a backend or the
 * metadata failed) or 503 (shutting down).
 */
public final class ControlApi {
  private ControlApi() {
  }

  /**
   * Where pairkitd keeps its control token when {@code server.control.tokenFile} is not set:
   * {@code control.token} beside the metadata directory (pairctl looks there too).
   */
  public static java.nio.file.Path defaultTokenFile(java.nio.file.Path metadataDirectory) {
    java.nio.file.Path abs = metadataDirectory.toAbsolutePath();
    return abs.getParent() == null ? abs.resolve("control.token")
        : abs.getParent().resolve("control.token");
  }

  public record Health(String status, String version, int nbdPort, int controlPort,
      int volumes, int pairs) {
  }

  public record VolumeView(String name, String type, long size, boolean exported,
      boolean exportReadOnly, List<String> pairs, String incomplete, HealthView health) {
  }

  /** A volume's backend health: degraded or not, and its parts (a RAID set's members). */
  public record HealthView(boolean degraded, String summary, List<PartView> parts) {
  }

  /** One part: state, bytes in sync of those it holds when in sync, why it failed. */
  public record PartView(String name, String state, long doneBytes, long totalBytes,
      String lastError) {
  }

  /**
   * A copy request. {@code state}: {@code running}, {@code done}, {@code failed} (then
   * {@code error} says why) or {@code cancelled}.
   */
  public record RequestView(long id, String pairId, String kind, String region,
      long tracksToCopy, long tracksDone, long tracksCopied, long bytesCopied, String state,
      String error) {

    public boolean finished() {
      return !"running".equals(state);
    }
  }

  /**
   * One pair. {@code mirror} is the mode it was given ({@code AUTOMATIC}, {@code SYNCHRONOUS},
   * {@code ASYNCHRONOUS}), {@code mirroring} the one in force, {@code mirrorReason} why.
   */
  public record PairView(String id, String strategy, String state, String primary,
      String secondary, int trackSize, long scopeTracks, double inSyncPercent,
      long pendingTracks, long changedTracks, long frozenTracks, long mirrorBacklogTracks,
      String splitExtents, List<RequestView> requests, String mirror, String mirroring,
      String mirrorReason, long copyPace, boolean initialCopy) {
  }

  /**
   * Strategy: {@code volume}, {@code extent} (needs extents) or {@code extent-split}; mirror:
   * {@code auto} (default), {@code sync} or {@code async}; pace: the pair's copy rate cap
   * ({@code 50M}, {@code none}: the default); nocopy: no initial copy, the caller asserts both
   * volumes hold the same data.
   */
  public record CreatePair(String id, String strategy, String primary, String secondary,
      String extents, String mirror, String pace, boolean nocopy) {
  }

  /** A consistency group: its name and its members' views, in member order. */
  public record GroupView(String name, List<PairView> pairs) {
  }

  /** A consistency group to create from existing pairs. */
  public record CreateGroup(String name, List<String> pairs) {
  }

  /**
   * A request to every member of a group at one instant; extents by pair id where the kind
   * needs them (a member without an entry gets its scope).
   */
  public record GroupRequest(String kind, java.util.Map<String, String> extents) {
  }

  /** A pair's copy pace: {@code 50M}, {@code 800K}, {@code none}. */
  public record PaceSetting(String pace) {
  }

  /** A pair's mirror mode: {@code auto}, {@code sync} or {@code async}. */
  public record MirrorSetting(String mode) {
  }

  /** Kind: a {@code RequestKind} name; extents where the kind needs them. */
  public record Request(String kind, String extents) {
  }

  public record Verify(String primary, String secondary, String extents) {
  }

  /** Differing tracks as half-open track ranges. */
  public record VerifyResult(String primary, String secondary, int trackSize,
      long tracksCompared, long tracksDiffering, List<long[]> differingTrackRanges) {
  }

  /** What a volume scrub found (md's check, or repair): see {@code ScrubReport}. */
  public record ScrubView(String volume, boolean repair, long checkedBytes, long mismatches,
      long repaired, List<Long> firstOffsets, String summary) {
  }

  public record ErrorView(String error, String message) {
  }
}
