package io.pairkit.api;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The state of each track in a range of a pair, as {@link Pair#trackStates} took it atomically.
 * Immutable, so thread-safe; it does not follow later changes of the pair.
 *
 * <p>Track {@code t} covers bytes {@code [t * trackSize, (t + 1) * trackSize)} of both volumes
 * (the last track may be partial).
 */
public final class TrackStates {
  private static final TrackState[] STATES = TrackState.values();

  private final long firstTrack;
  private final int trackSize;
  private final byte[] states;

  /**
   * For engines and tests; hosts get one from {@link Pair#trackStates}.
   *
   * @param firstTrack the first track described
   * @param trackSize  the pair's track size in bytes
   * @param states     {@code TrackState.ordinal()} of each track from {@code firstTrack} on;
   *                   copied
   * @throws IllegalArgumentException if a byte is not a {@link TrackState} ordinal
   */
  public TrackStates(long firstTrack, int trackSize, byte[] states) {
    this.firstTrack = firstTrack;
    this.trackSize = trackSize;
    this.states = states.clone();
    for (byte b : this.states) {
      if (b < 0 || b >= STATES.length) {
        throw new IllegalArgumentException("no TrackState with ordinal " + b);
      }
    }
  }

  /** The first track described. */
  public long firstTrack() {
    return firstTrack;
  }

  /** One past the last track described. */
  public long endTrack() {
    return firstTrack + states.length;
  }

  /** The pair's track size in bytes. */
  public int trackSize() {
    return trackSize;
  }

  /**
   * The state of track {@code track}.
   *
   * @throws IndexOutOfBoundsException if the track is not in {@code [firstTrack, endTrack)}
   */
  public TrackState state(long track) {
    if (track < firstTrack || track >= endTrack()) {
      throw new IndexOutOfBoundsException("track " + track + " is not in [" + firstTrack + ", "
          + endTrack() + ")");
    }
    return STATES[states[(int) (track - firstTrack)]];
  }

  /** How many tracks are in {@code state}. */
  public long count(TrackState state) {
    long n = 0;
    for (byte b : states) {
      if (b == state.ordinal()) {
        n++;
      }
    }
    return n;
  }

  /** Tracks in {@code state}, ascending. */
  public List<Long> tracks(TrackState state) {
    List<Long> out = new ArrayList<>();
    for (int i = 0; i < states.length; i++) {
      if (states[i] == state.ordinal()) {
        out.add(firstTrack + i);
      }
    }
    return out;
  }

  /** Number of tracks per state, states with none left out. */
  public Map<TrackState, Long> counts() {
    Map<TrackState, Long> out = new EnumMap<>(TrackState.class);
    for (byte b : states) {
      out.merge(STATES[b], 1L, Long::sum);
    }
    return out;
  }

  @Override
  public String toString() {
    return "tracks [" + firstTrack + ", " + endTrack() + "): " + counts();
  }
}
