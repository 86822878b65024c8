package io.pairkit.core.internal.engine;

import io.pairkit.api.ConsistencyGroup;
import io.pairkit.api.CopyRequest;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.Pair;
import io.pairkit.api.RequestKind;
import io.pairkit.api.error.InvalidArgumentException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A consistency group: its members, and requests issued to all of them at one instant by
 * {@link GroupAdmission}. Membership changes only through the controller (create, delete, a
 * member's deletion).
 */
final class ConsistencyGroupImpl implements ConsistencyGroup {
  private final String name;
  private final DefaultPairController controller;
  /** The members; guarded by the controller's monitor. */
  private final List<AbstractPair> members;

  ConsistencyGroupImpl(String name, List<AbstractPair> members,
      DefaultPairController controller) {
    this.name = name;
    this.members = new ArrayList<>(members);
    this.controller = controller;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public List<Pair> pairs() {
    synchronized (controller) {
      return List.copyOf(members);
    }
  }

  /** The members now (the controller's monitor guards the list). */
  List<AbstractPair> members() {
    synchronized (controller) {
      return List.copyOf(members);
    }
  }

  /** A member was deleted: it leaves the group. Caller holds the controller's monitor. */
  boolean drop(AbstractPair pair) {
    members.remove(pair);
    return members.isEmpty();
  }

  @Override
  public List<CopyRequest> request(RequestKind kind, Map<String, ExtentSet> regions) {
    if (kind == null) {
      throw new InvalidArgumentException("group '" + name + "': request needs a kind, got null");
    }
    Map<String, ExtentSet> given = regions == null ? Map.of() : regions;
    List<AbstractPair> pairs = members();
    if (pairs.isEmpty()) {
      throw new InvalidArgumentException("group '" + name + "' has no members left; delete it");
    }
    for (String id : given.keySet()) {
      if (pairs.stream().noneMatch(p -> p.id().equals(id))) {
        throw new InvalidArgumentException("group '" + name + "': extents are given for pair '"
            + id + "', which is not a member (members: " + ids(pairs) + ")");
      }
    }
    List<RequestAdmission.Planned> plans = new ArrayList<>();
    for (AbstractPair p : pairs) {
      plans.add(p.plan(kind, given.getOrDefault(p.id(), p.scope())));
    }
    return GroupAdmission.atOneInstant(name, pairs, plans, controller.store());
  }

  @Override
  public void delete() {
    controller.deleteGroup(this);
  }

  static List<String> ids(List<? extends Pair> pairs) {
    return pairs.stream().map(Pair::id).toList();
  }

  @Override
  public String toString() {
    return "ConsistencyGroup[" + name + ", " + ids(members()) + "]";
  }
}
