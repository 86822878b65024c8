package io.pairkit.api;

import java.util.List;
import java.util.Map;

/**
 * A named set of pairs whose requests take effect at one instant across all of them (an
 * array's consistency group, QEMU's {@code transaction}): no host write to any member's primary
 * lands in the image of one pair and not of another, so a database whose data and log live on
 * two volumes splits as one. All or nothing: if one member refuses (its state, its strategy),
 * none changes. Members may use any strategy and any volumes; a pair belongs to at most one
 * group. With durable metadata the membership is recorded, and a group request is recorded as
 * one record, so a crash finds it applied to every member or to none.
 *
 * <p>Threading: thread-safe.
 */
public interface ConsistencyGroup {

  String name();

  /** The member pairs, in the order the group was created with. */
  List<Pair> pairs();

  /**
   * Issues {@code kind} to every member at one instant, with the member's region from
   * {@code regions} (by pair id; a kind that needs no region ignores it, a member without an
   * entry gets its scope). Returns the members' requests, in member order.
   *
   * @throws io.pairkit.api.error.PairStateException if a member's state refuses it; the message
   *     names the member, and no member changed
   * @throws io.pairkit.api.error.UnsupportedRequestException if a member's strategy does not
   *     offer {@code kind}; no member changed
   * @throws io.pairkit.api.error.InvalidArgumentException if {@code regions} names a pair that is
   *     not a member
   */
  List<CopyRequest> request(RequestKind kind, Map<String, ExtentSet> regions);

  /** {@link RequestKind#SPLIT} of every member at one instant (volume and extent pairs). */
  default List<CopyRequest> split() {
    return request(RequestKind.SPLIT, Map.of());
  }

  /** {@link RequestKind#RESYNC} of every member at one instant. */
  default List<CopyRequest> resync() {
    return request(RequestKind.RESYNC, Map.of());
  }

  /** {@link RequestKind#EXTENT_UPDATE} of every member, each on its extents, at one instant. */
  default List<CopyRequest> extentUpdate(Map<String, ExtentSet> extents) {
    return request(RequestKind.EXTENT_UPDATE, extents);
  }

  /**
   * {@link RequestKind#RESTORE} of every member at one instant: each member's primary gets its
   * split image back (a member without an entry in {@code extents} restores all it has split).
   */
  default List<CopyRequest> restore(Map<String, ExtentSet> extents) {
    return request(RequestKind.RESTORE, extents);
  }

  /** Dissolves the group; its pairs stay as they are. Recorded with durable metadata. */
  void delete();
}
