package io.pairkit.core.testing;

import io.pairkit.api.Pair;
import io.pairkit.api.PairController;
import io.pairkit.api.spi.Volume;
import io.pairkit.core.PairKit;
import io.pairkit.core.internal.engine.DefaultPairController;
import io.pairkit.core.registry.VolumeProviders;
import java.util.function.ObjLongConsumer;

/**
 * A controller, as {@link PairKit.Builder#build()} makes it, that calls an observer at every
 * request instant: the moment a split, resync, extent update or any other request takes effect,
 * with host writes to both of the pair's volumes held off until the observer returns. A test
 * records there what the pair must equal later (the primary's image at a split, say) and checks
 * what must hold at that moment (every track that differs is marked).
 *
 * <p>The observer runs on the requesting thread while writes wait, so it must be quick and must
 * not write to the pair's volumes or issue requests. It may read the pair's track states and
 * the volumes beneath the pair logic ({@link #engineView}).
 *
 * <p>Threading: as the controller; the observer may run on any thread that issues requests.
 */
public final class ObservedController implements AutoCloseable {
  private final DefaultPairController controller;

  private ObservedController(DefaultPairController controller) {
    this.controller = controller;
  }

  /**
   * A controller configured by {@code builder}, with the providers on this class's loader.
   *
   * @param atInstant called with the pair and the request's id at each request instant
   */
  public static ObservedController open(PairKit.Builder builder,
      ObjLongConsumer<Pair> atInstant) {
    return new ObservedController(DefaultPairController.observed(builder.config(),
        VolumeProviders.load(ObservedController.class.getClassLoader()), atInstant));
  }

  /** The controller: attach volumes, create pairs and issue requests through it. */
  public PairController controller() {
    return controller;
  }

  /**
   * The volume named {@code name} as the engine reads and writes it, beneath the pair logic:
   * through the track cache when there is one, so it shows data not yet destaged. Reading it
   * bypasses the pair's rules (a split secondary's refusals, copy-on-write).
   */
  public Volume engineView(String name) {
    return controller.backendOf(name);
  }

  @Override
  public void close() {
    controller.close();
  }
}
